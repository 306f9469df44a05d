/**
 * The capability matrix: which routing modes each DNS provider serves natively (and under which of its
 * own names), which health-check numbers it accepts, and whether it can weight a degraded region. Asking
 * a provider for something it cannot do is a config error naming the provider and the value — Meridian
 * never silently approximates a mode. Limits are from each provider's API reference (2026-11).
 */
import type { DnsProvider, RoutingMode, TrafficConfig } from "../config/traffic.js";
import { aliasProblems } from "./alias.js";
import { dnssecProblems } from "./dnssec.js";
import { recordTypes, type RecordType } from "./rdata.js";

export interface ProviderCapability {
  title: string;
  /** Mode → the provider's own name for it; absent modes are not supported. */
  modes: Partial<Record<RoutingMode, string>>;
  /** Accepted check intervals: a list of allowed values or an inclusive range. */
  intervals: readonly number[] | { min: number; max: number };
  /** Accepted probe timeouts in seconds; null when the provider fixes the timeout itself. */
  timeouts: { min: number; max: number } | null;
  maxFailureThreshold: number;
  /** Renders a degraded region at a reduced weight (needs per-signal checks the provider can combine). */
  degradedWeighting: boolean;
  /** Static record types the provider's zones serve (its API's record-type list). */
  recordTypes: readonly RecordType[];
  /** Why the limits above hold, in a line. */
  note: string;
}

/**
 * Azure DNS public zones (API 2023-07-01-preview, the one @pulumi/azure-native's dns.RecordSet uses) serve
 * A, AAAA, CAA, CNAME, DS, MX, NAPTR, NS, PTR, SOA, SRV, TLSA, TXT: no SSHFP, HTTPS or SVCB. ALIAS is an alias record
 * set (model/traffic/alias.ts says which targets each provider can alias). Route 53 added
 * TLSA, SSHFP, SVCB and HTTPS in 2024; Cloud DNS and Cloudflare serve all of ours.
 */
const AZURE_DNS_TYPES: readonly RecordType[] = ["A", "AAAA", "CAA", "CNAME", "DS", "MX", "NS", "PTR", "SRV", "TLSA", "TXT", "ALIAS"];

export const CAPABILITIES: Record<DnsProvider, ProviderCapability> = {
  route53: {
    title: "Amazon Route 53",
    modes: { weighted: "weighted", geo: "geolocation", latency: "latency", failover: "failover" },
    intervals: [10, 30],
    timeouts: null,
    maxFailureThreshold: 10,
    degradedWeighting: true,
    recordTypes,
    note: "request interval is 10 (fast) or 30 s; the probe timeout is fixed (4 s connect, 2 s response); CALCULATED checks combine signals",
  },
  clouddns: {
    title: "Google Cloud DNS",
    modes: { weighted: "wrr", geo: "geo", failover: "primaryBackup" },
    intervals: { min: 30, max: 300 },
    timeouts: { min: 1, max: 300 },
    maxFailureThreshold: 10,
    degradedWeighting: false,
    recordTypes,
    note: "health checks of external endpoints need sourceRegions, which require checkIntervalSec >= 30; one health check per routing policy",
  },
  trafficmanager: {
    title: "Azure Traffic Manager",
    modes: { weighted: "Weighted", geo: "Geographic", latency: "Performance", failover: "Priority" },
    intervals: [10, 30],
    timeouts: { min: 5, max: 10 },
    maxFailureThreshold: 10,
    degradedWeighting: true,
    recordTypes: AZURE_DNS_TYPES,
    note: "probing interval 10 or 30 s; timeout 5-10 s (5-9 s at 10 s interval); toleratedNumberOfFailures 0-9; one monitor path per profile, so signals become nested per-signal profiles",
  },
  cloudflare: {
    title: "Cloudflare Load Balancing",
    modes: { weighted: "random", geo: "geo", latency: "dynamic_latency", failover: "off", anycast: "proxied" },
    intervals: { min: 10, max: 3600 },
    timeouts: { min: 1, max: 10 },
    maxFailureThreshold: 6,
    degradedWeighting: false,
    recordTypes,
    note: "monitor interval >= 10 s (Enterprise; 15 s Business, 60 s Pro); retries 0-5; one monitor per pool",
  },
  local: {
    title: "meridian local resolver (loopback)",
    modes: { weighted: "weighted", geo: "geo", latency: "latency", failover: "failover", anycast: "anycast" },
    intervals: { min: 1, max: 300 },
    timeouts: { min: 1, max: 60 },
    maxFailureThreshold: 10,
    degradedWeighting: true,
    recordTypes,
    note: "answers on loopback from live checks; no cloud limits, so local stacks can check every second",
  },
};

export interface CapabilityProblem {
  /** Path under `meridian:dns`. */
  path: (string | number)[];
  input: unknown;
  message: string;
}

/** Every provider in the hierarchy, in switch order: primary, secondary, tertiary, standbys. */
export function providerChain(dns: Pick<TrafficConfig, "providers">): DnsProvider[] {
  const p = dns.providers;
  return [p.primary, p.secondary, p.tertiary, ...p.standbys].filter((x): x is DnsProvider => x !== undefined);
}

function slotPath(dns: Pick<TrafficConfig, "providers">, provider: DnsProvider): (string | number)[] {
  const p = dns.providers;
  if (p.primary === provider) return ["providers", "primary"];
  if (p.secondary === provider) return ["providers", "secondary"];
  if (p.tertiary === provider) return ["providers", "tertiary"];
  return ["providers", "standbys", p.standbys.indexOf(provider)];
}

type IntervalRule = ProviderCapability["intervals"];
const isList = (rule: IntervalRule): rule is readonly number[] => Array.isArray(rule);

function describeIntervals(c: ProviderCapability): string {
  const rule = c.intervals;
  return isList(rule) ? `${rule.join(" or ")} s` : `${rule.min}-${rule.max} s`;
}

function intervalAllowed(c: ProviderCapability, seconds: number): boolean {
  const rule = c.intervals;
  return isList(rule) ? rule.includes(seconds) : seconds >= rule.min && seconds <= rule.max;
}

/** Every way the traffic config asks a provider for something it cannot do. */
export function capabilityProblems(dns: TrafficConfig): CapabilityProblem[] {
  const problems: CapabilityProblem[] = [];
  const hc = dns.healthCheck;
  const chain = providerChain(dns);
  // Repeats among primary/secondary/tertiary are reported by the estate's cross-checks; standbys are ours.
  const named = chain.slice(0, chain.length - dns.providers.standbys.length);
  if (new Set(chain).size !== chain.length && new Set(named).size === named.length) {
    problems.push({ path: ["providers", "standbys"], input: dns.providers.standbys, message: "every provider in the hierarchy must be different" });
  }
  for (const provider of new Set(chain)) {
    const c = CAPABILITIES[provider];
    const where = `${provider} (${slotPath(dns, provider).join(".")})`;
    if (c.modes[dns.routing] === undefined) {
      const supported = Object.keys(c.modes).join(", ");
      problems.push({ path: ["routing"], input: dns.routing, message: `${where} cannot route "${dns.routing}" natively; it supports ${supported}` });
    }
    if (!intervalAllowed(c, hc.intervalSeconds)) {
      problems.push({
        path: ["healthCheck", "intervalSeconds"],
        input: hc.intervalSeconds,
        message: `${where} accepts health-check intervals of ${describeIntervals(c)} (${c.note})`,
      });
    }
    if (c.timeouts !== null && (hc.timeoutSeconds < c.timeouts.min || hc.timeoutSeconds > c.timeouts.max)) {
      problems.push({
        path: ["healthCheck", "timeoutSeconds"],
        input: hc.timeoutSeconds,
        message: `${where} accepts probe timeouts of ${c.timeouts.min}-${c.timeouts.max} s`,
      });
    }
    if (hc.failureThreshold > c.maxFailureThreshold) {
      problems.push({
        path: ["healthCheck", "failureThreshold"],
        input: hc.failureThreshold,
        message: `${where} accepts a failure threshold of at most ${c.maxFailureThreshold}`,
      });
    }
  }
  // Signal names name the per-signal checks; `serving` and `full` name the combined ones.
  const seen = new Set<string>();
  hc.signals.forEach((s, i) => {
    if (s.name === "serving" || s.name === "full" || seen.has(s.name)) {
      problems.push({ path: ["healthCheck", "signals", i, "name"], input: s.name, message: "signal names must be unique and not serving or full (they name the combined checks)" });
    }
    seen.add(s.name);
  });
  dns.records.forEach((record, i) => {
    for (const provider of new Set(chain)) {
      const served = CAPABILITIES[provider].recordTypes;
      if (served.includes(record.type)) continue;
      problems.push({
        path: ["records", i, "type"],
        input: record.type,
        message: `${provider} (${slotPath(dns, provider).join(".")}) cannot serve ${record.type} records, so record "${record.name}" ${record.type} cannot be in this hierarchy (its zones serve ${served.join(", ")})`,
      });
    }
  });
  const where = (provider: DnsProvider) => `${provider} (${slotPath(dns, provider).join(".")})`;
  for (const p of dnssecProblems(chain, dns, where)) problems.push({ ...p, input: dns.dnssec.signing });
  problems.push(...aliasProblems(chain, dns, where));
  if (chain.includes("cloudflare") && dns.cloudflare === undefined) {
    problems.push({ path: ["cloudflare"], input: undefined, message: "cloudflare serves this zone; set dns.cloudflare.accountId" });
  }
  return problems;
}
