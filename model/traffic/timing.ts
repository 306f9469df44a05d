/**
 * Failover timing, derived once from the health-check numbers: how long until a provider declares a
 * region down (detection), how long until clients stop using cached answers (drain), and the sum, the
 * RTO of a regional outage per provider. Also the timing of a DNS provider outage (secondary takes over
 * through resolver retries; the tertiary needs a registrar NS change). Runbooks and docs print these.
 */
import type { DnsProvider } from "../config/traffic.js";
import type { TrafficPolicy } from "./policy.js";

/** Route 53 fixes its probe timeout: 4 s to connect, then 2 s for the response. */
const ROUTE53_PROBE_TIMEOUT_SECONDS = 6;
/** TTL of the delegation NS records in the parent zone (.com/.net: 2 days); bounds a registrar NS change. */
export const PARENT_NS_TTL_SECONDS = 172_800;
/** A recursive resolver's retry of another delegated nameserver after an unanswered query (BIND/Unbound: < 1-2 s). */
const RESOLVER_NS_RETRY_SECONDS = 2;

export interface ProviderTiming {
  provider: DnsProvider;
  intervalSeconds: number;
  failureThreshold: number;
  /** How long one failing probe can take to fail. */
  probeTimeoutSeconds: number;
  /** Worst case: the outage starts just after a passing probe, then `threshold` probes fail in turn. */
  detectionSeconds: number;
  /** Clients holding a cached answer keep using it for at most one TTL; a proxied (anycast) edge has none. */
  drainSeconds: number;
  /** Regional-outage recovery time objective: detection + drain. */
  rtoSeconds: number;
  /** A recovered region takes the same number of passing probes to be served again. */
  recoverySeconds: number;
}

export function providerTiming(policy: TrafficPolicy, provider: DnsProvider): ProviderTiming {
  const hc = policy.healthCheck;
  const probeTimeoutSeconds = provider === "route53" ? ROUTE53_PROBE_TIMEOUT_SECONDS : hc.timeoutSeconds;
  const detectionSeconds = hc.intervalSeconds * hc.failureThreshold + probeTimeoutSeconds;
  const proxied = provider === "cloudflare" && policy.mode === "anycast";
  const drainSeconds = proxied ? 0 : policy.ttlSeconds;
  return {
    provider,
    intervalSeconds: hc.intervalSeconds,
    failureThreshold: hc.failureThreshold,
    probeTimeoutSeconds,
    detectionSeconds,
    drainSeconds,
    rtoSeconds: detectionSeconds + drainSeconds,
    recoverySeconds: hc.intervalSeconds * hc.failureThreshold,
  };
}

export function timings(policy: TrafficPolicy): ProviderTiming[] {
  return policy.providers.map((p) => providerTiming(policy, p));
}

/** The estate's regional-outage RTO: the slowest delegated provider (the ones resolvers ask) governs it. */
export function worstTiming(policy: TrafficPolicy): ProviderTiming {
  return policy.delegated.map((p) => providerTiming(policy, p)).reduce((a, b) => (b.rtoSeconds > a.rtoSeconds ? b : a));
}

export interface ProviderOutageTiming {
  /** Primary down, secondary delegated: resolvers retry the other NS set; no change is needed. */
  secondaryTakeoverSeconds: number | null;
  /** Both delegated providers down: the tertiary is delegated at the registrar; the parent NS TTL bounds it. */
  tertiarySwitchSeconds: number | null;
}

export function providerOutageTiming(policy: TrafficPolicy): ProviderOutageTiming {
  const hasSecondary = policy.delegated.length > 1;
  const hasStandby = policy.providers.length > policy.delegated.length;
  return {
    secondaryTakeoverSeconds: hasSecondary ? RESOLVER_NS_RETRY_SECONDS : null,
    tertiarySwitchSeconds: hasStandby ? PARENT_NS_TTL_SECONDS : null,
  };
}

/** "1 min 36 s" style, for runbooks. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return s === 0 ? `${m} min` : `${m} min ${s} s`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}
