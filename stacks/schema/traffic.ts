/**
 * Global traffic: the apex zone, the DNS provider hierarchy that serves it, the GSLB routing mode and
 * the health-check numbers every provider renders from. The traffic issue (§14.1) owns the details.
 */
import { z } from "zod";
import { dnsName, fraction, nonNegative, port, slug } from "./common.js";

export const dnsProviders = ["route53", "clouddns", "trafficmanager", "cloudflare"] as const;
export type DnsProvider = (typeof dnsProviders)[number];

export const routingModes = ["weighted", "geo", "latency", "failover", "anycast"] as const;
export type RoutingMode = (typeof routingModes)[number];

export const healthCheckSchema = z
  .object({
    protocol: z.enum(["HTTP", "HTTPS", "TCP"]).default("HTTPS"),
    port: port.default(443),
    path: z.string().startsWith("/").default("/healthz"),
    intervalSeconds: z.number().int().min(1).max(300).default(30),
    timeoutSeconds: z.number().int().min(1).max(60).default(5),
    failureThreshold: z.number().int().min(1).max(10).default(3),
    /** Regions the checkers run from (provider-specific names are derived by each provider). */
    checkerRegions: z.array(z.string()).default([]),
  })
  .strict();

export const trafficSchema = z
  .object({
    apex: dnsName,
    /** Service hostname under the apex that the GSLB answers for. */
    host: z.string().regex(/^[a-z0-9-]+$/).default("api"),
    providers: z
      .object({
        primary: z.enum(dnsProviders),
        secondary: z.enum(dnsProviders).optional(),
        tertiary: z.enum(dnsProviders).optional(),
      })
      .strict(),
    routing: z.enum(routingModes),
    ttlSeconds: z.number().int().min(1).max(86400).default(60),
    healthCheck: healthCheckSchema.prefault({}),
    /** Weights per region id for weighted routing; absent regions get equal shares. */
    weights: z.record(slug, z.number().int().min(0).max(255)).default({}),
    /** Failover order (region ids), primary first. */
    failoverOrder: z.array(slug).default([]),
    /** Monthly DNS queries, for the cost model. */
    monthlyQueriesMillions: nonNegative.default(0),
    degraded: z
      .object({
        /** A region is degraded when this share of its health signals fail (but not all). */
        failingShare: fraction.default(0.34),
        /** Weight multiplier applied to a degraded region. */
        weightFactor: fraction.default(0.5),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type TrafficConfig = z.output<typeof trafficSchema>;
