/**
 * Global traffic: the apex zone, the DNS provider hierarchy that serves it, the GSLB routing mode and
 * the health-check numbers every provider renders from (outline §14.1). Provider limits (which modes a
 * provider routes natively, which check intervals it accepts) live in model/traffic/capabilities.ts; the
 * refinement below reports a violation at the key the user wrote, naming provider and value.
 */
import { z } from "zod";
import { capabilityProblems } from "../traffic/capabilities.js";
import { configRdata, RDATA_SHAPES, recordTypes } from "../traffic/rdata.js";
import { routingModes } from "./routing.js";
import { continents, dnsName, fraction, nonNegative, port, slug } from "./vocabulary.js";

/**
 * `local` is the loopback resolver `meridian local` runs: it answers from live health checks with the
 * same policy and has none of the clouds' interval limits, so the local stack can check every 2 s.
 */
export const dnsProviders = ["route53", "clouddns", "trafficmanager", "cloudflare", "local"] as const;
export type DnsProvider = (typeof dnsProviders)[number];

export { routingModes, type RoutingMode } from "./routing.js";

export const healthCheckSchema = z
  .object({
    protocol: z.enum(["HTTP", "HTTPS", "TCP"]).default("HTTPS"),
    port: port.default(443),
    /** The region's serving check: the gateway answers 2xx here while at least one signal passes. */
    path: z.string().startsWith("/").default("/healthz"),
    intervalSeconds: z.number().int().min(1).max(300).default(30),
    timeoutSeconds: z.number().int().min(1).max(60).default(5),
    failureThreshold: z.number().int().min(1).max(10).default(3),
    /**
     * Continents the checkers probe from; each provider maps them to its own checker regions (Route 53
     * regions, Cloud DNS source regions, Cloudflare regions). Empty: the continents the estate runs on.
     */
    checkerRegions: z.array(z.enum(continents)).default([]),
    /**
     * The region's individual health signals (one path each). A region is degraded when a share of them
     * fail, unhealthy when all fail. Empty: the serving path is the only signal (never degraded).
     */
    signals: z
      .array(z.object({ name: slug, path: z.string().startsWith("/") }).strict())
      .max(8)
      .default([]),
  })
  .strict();

export const staticRecordSchema = z
  .object({
    /** Relative name under the apex; `@` is the apex itself. */
    name: z.string().regex(/^(@|[a-z0-9_*]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9])?)*)$/, "expected a relative name such as www or @"),
    type: z.enum(recordTypes),
    ttlSeconds: z.number().int().min(1).max(86400).optional(),
    /** Record data in zone-file form; domain names are absolute (trailing dot optional). */
    values: z.array(z.string().min(1)).min(1),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.type === "ALIAS") {
      // ALIAS exists to put CNAME behaviour at the apex; one target, as every provider's alias takes.
      if (r.name !== "@") ctx.addIssue({ code: "custom", path: ["name"], input: r.name, message: "an ALIAS record is at the apex (@); below it use a CNAME" });
      if (r.values.length !== 1) ctx.addIssue({ code: "custom", path: ["values"], input: r.values, message: "an ALIAS record has one target" });
    }
    // A and AAAA addresses are checked at load, with advice for a load balancer's name (stacks/semantic.ts).
    if (r.type === "A" || r.type === "AAAA") return;
    r.values.forEach((v, i) => {
      if ("problem" in configRdata(r.type, v)) ctx.addIssue({ code: "custom", path: ["values", i], input: v, message: `expected ${RDATA_SHAPES[r.type].expected}` });
    });
  });

export const trafficSchema = z
  .object({
    apex: dnsName,
    /** Service hostname under the apex that the GSLB answers for. */
    host: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .default("api"),
    providers: z
      .object({
        primary: z.enum(dnsProviders),
        secondary: z.enum(dnsProviders).optional(),
        tertiary: z.enum(dnsProviders).optional(),
        /** Further warm standbys after the tertiary: they hold the full record set, not delegated. */
        standbys: z.array(z.enum(dnsProviders)).default([]),
      })
      .strict(),
    routing: z.enum(routingModes),
    ttlSeconds: z.number().int().min(1).max(86400).default(60),
    healthCheck: healthCheckSchema.prefault({}),
    /** Weights per region id for weighted routing; absent regions get equal shares. */
    weights: z.record(slug, z.number().int().min(0).max(255)).default({}),
    /** Failover order (region ids), primary first. */
    failoverOrder: z.array(slug).default([]),
    /**
     * Regions an operator has drained (`meridian traffic drain`): every provider stops answering with them
     * through its own mechanism, whatever their health. Never every region (checked at load).
     */
    drained: z.array(slug).default([]),
    /**
     * DNSSEC: every provider of the hierarchy signs the zone with its own keys (model/traffic/dnssec.ts says which
     * hierarchies can). Off by default: turning it on is a registrar step too (the DS records, `meridian dns ds`).
     */
    dnssec: z
      .object({
        signing: z.boolean().default(false),
        /**
         * Route 53 only: the key-signing key generations the hosted zone holds (one KMS key each). Two during a
         * rollover (docs/dns.md#key-rollover): add the new one, give the registrar its DS, then drop the old one.
         */
        keySigningKeys: z
          .array(z.number().int().min(1).max(999))
          .min(1)
          .max(2)
          .refine((v) => new Set(v).size === v.length, "key-signing key generations must be distinct")
          .default([1]),
      })
      .strict()
      .prefault({}),
    /** Records besides the GSLB host, served identically by every provider in the hierarchy. */
    records: z.array(staticRecordSchema).default([]),
    /** Cloudflare account that owns the zone, monitors and pools (required when Cloudflare serves). */
    cloudflare: z
      .object({ accountId: z.string().regex(/^[0-9a-f]{32}$/, "expected a 32-hex-digit Cloudflare account id") })
      .strict()
      .optional(),
    /** Azure location of the resource group holding the Azure DNS zone and Traffic Manager profiles. */
    azure: z
      .object({ location: z.string().min(1).default("westeurope") })
      .strict()
      .prefault({}),
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
  .strict()
  .superRefine((dns, ctx) => {
    for (const p of capabilityProblems(dns)) ctx.addIssue({ code: "custom", path: p.path, input: p.input, message: p.message });
  });

export type TrafficConfig = z.output<typeof trafficSchema>;
export type StaticRecord = z.output<typeof staticRecordSchema>;
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;
