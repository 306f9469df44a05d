/**
 * The traffic policy: the stack's `meridian:dns` block resolved, once, into the provider-neutral numbers
 * every DNS provider renders and the local resolver answers from — targets in routing order, the weight
 * of each region in each health state, continent groups for geo routing, the health signals and the
 * threshold that separates healthy from degraded. Providers never derive these themselves.
 */
import type { Continent } from "../config/vocabulary.js";
import { continents } from "../config/vocabulary.js";
import type { DnsProvider, HealthCheckConfig, RoutingMode } from "../config/traffic.js";
import type { EstateSpec, Region } from "../estate.js";
import { providerChain } from "./capabilities.js";
import { CONTINENT_CENTROIDS, distanceKm } from "./geo.js";
import { fullHealthThreshold, type HealthState } from "./health.js";
import { zoneRecords, type ZoneRecord } from "./records.js";

export interface RegionTarget {
  id: string;
  cloud: Region["cloud"];
  /** The cloud's region code (us-east-1, europe-west1, ...). */
  cloudRegion: string;
  continent: Continent;
  location: { lat: number; lon: number };
  weights: Record<HealthState, number>;
}

export interface HealthSignal {
  name: string;
  path: string;
}

export interface GeoGroup {
  continent: Continent;
  /** Regions answering clients from this continent; its own regions, else the nearest continent's. */
  regionIds: string[];
  /** True when the continent has no region of its own. */
  borrowed: boolean;
}

export interface TrafficPolicy {
  stack: string;
  apex: string;
  host: string;
  fqdn: string;
  mode: RoutingMode;
  ttlSeconds: number;
  /** Every provider serving the zone, in switch order. */
  providers: DnsProvider[];
  /** The providers named in the registrar's NS set (primary and secondary). */
  delegated: DnsProvider[];
  healthCheck: HealthCheckConfig;
  /** The region's individual signals; the serving path alone when none are configured. */
  signals: HealthSignal[];
  /** Continents the checkers probe from (configured, else those the estate runs on). */
  checkerContinents: Continent[];
  /** Passing signals needed for "healthy" (Route 53 CALCULATED childHealthThreshold). */
  fullHealthThreshold: number;
  failingShare: number;
  /** Targets; in failover mode, in failover order (primary first). */
  targets: RegionTarget[];
  geoGroups: GeoGroup[];
  /** Region ids an operator drained (`meridian traffic drain`): no provider answers with them. */
  drained: string[];
  /** Static records every provider serves besides the GSLB host. */
  records: ZoneRecord[];
  cloudflareAccountId: string | undefined;
  azureLocation: string;
  /** Every provider signs the zone (DNSSEC); the capability matrix has checked the hierarchy can. */
  dnssec: boolean;
  /** Route 53's key-signing key generations (two during a rollover). */
  keySigningKeys: number[];
}

/** Healthy weight per region: configured, else an equal share (the mean of configured ones, or 100). */
function healthyWeights(spec: EstateSpec): Map<string, number> {
  const configured = Object.values(spec.dns.weights);
  const share = configured.length === 0 ? 100 : Math.round(configured.reduce((a, b) => a + b, 0) / configured.length);
  return new Map(spec.regions.map((r) => [r.id, spec.dns.weights[r.id] ?? share]));
}

/** Regions in failover order: the configured order first, then any region it leaves out. */
export function failoverOrder(spec: EstateSpec): Region[] {
  const listed = spec.dns.failoverOrder.map((id) => spec.regions.find((r) => r.id === id)).filter((r): r is Region => r !== undefined);
  return [...listed, ...spec.regions.filter((r) => !spec.dns.failoverOrder.includes(r.id))];
}

function geoGroups(regions: readonly Region[]): GeoGroup[] {
  return continents.map((continent) => {
    const own = regions.filter((r) => r.continent === continent).map((r) => r.id);
    if (own.length > 0) return { continent, regionIds: own, borrowed: false };
    const centroid = CONTINENT_CENTROIDS[continent];
    const nearest = [...regions].sort((a, b) => distanceKm(centroid, a.location) - distanceKm(centroid, b.location))[0]!;
    const regionIds = regions.filter((r) => r.continent === nearest.continent).map((r) => r.id);
    return { continent, regionIds, borrowed: true };
  });
}

export function trafficPolicy(spec: EstateSpec): TrafficPolicy {
  const dns = spec.dns;
  const weights = healthyWeights(spec);
  const ordered = dns.routing === "failover" ? failoverOrder(spec) : spec.regions;
  const signals = dns.healthCheck.signals.length > 0 ? dns.healthCheck.signals : [{ name: "serving", path: dns.healthCheck.path }];
  const providers = providerChain(dns);
  return {
    stack: spec.stack,
    apex: dns.apex,
    host: dns.host,
    fqdn: `${dns.host}.${dns.apex}`,
    mode: dns.routing,
    ttlSeconds: dns.ttlSeconds,
    providers,
    delegated: providers.slice(0, dns.providers.secondary === undefined ? 1 : 2),
    healthCheck: dns.healthCheck,
    signals,
    checkerContinents: dns.healthCheck.checkerRegions.length > 0 ? dns.healthCheck.checkerRegions : [...new Set(spec.regions.map((r) => r.continent))],
    fullHealthThreshold: fullHealthThreshold(signals.length, dns.degraded.failingShare),
    failingShare: dns.degraded.failingShare,
    targets: ordered.map((r) => {
      const healthy = weights.get(r.id)!;
      return {
        id: r.id,
        cloud: r.cloud,
        cloudRegion: r.region,
        continent: r.continent,
        location: r.location,
        weights: { healthy, degraded: Math.round(healthy * dns.degraded.weightFactor), unhealthy: 0 },
      };
    }),
    geoGroups: geoGroups(spec.regions),
    drained: spec.regions.filter((r) => dns.drained.includes(r.id)).map((r) => r.id),
    records: zoneRecords(dns.apex, dns.records, dns.ttlSeconds),
    cloudflareAccountId: dns.cloudflare?.accountId,
    azureLocation: dns.azure.location,
    dnssec: dns.dnssec.signing,
    keySigningKeys: dns.dnssec.keySigningKeys,
  };
}

/** The targets a provider may answer with: every target but the drained ones (in routing order). */
export function answeringTargets(policy: TrafficPolicy): RegionTarget[] {
  return policy.targets.filter((t) => !policy.drained.includes(t.id));
}

/** A region's weighted entry split so that per-signal checks reproduce the degraded weight exactly. */
export interface WeightSplit {
  /** Served while the region is healthy (all-but-threshold signals pass): healthy − degraded. */
  full: number;
  /** Served while the region is serving at all (any signal passes): the degraded weight. */
  base: number;
}

export function weightSplit(target: RegionTarget): WeightSplit {
  return { full: target.weights.healthy - target.weights.degraded, base: target.weights.degraded };
}
