/**
 * The answer a GSLB gives: given the traffic policy, each region's health state and optionally where the
 * client is, which regions (and with which weights) the apex host resolves to. This is the behaviour every
 * provider renders and the one `meridian local`'s loopback resolver serves, so both use this function.
 *
 * Rules (as Route 53 evaluates them): weighted and anycast answer every serving region at its state's
 * weight; geo answers the client's continent group, else the default (all regions); latency answers the
 * nearest serving region; failover the first serving region in order. When nothing is serving the
 * answer fails open — all regions at their healthy weight — because an empty answer is a certain outage.
 * A degraded region still serves; only weighted answers lower its share. A drained region (operator's
 * routing control) is never answered, not even when failing open.
 */
import type { Continent } from "../config/vocabulary.js";
import type { DnsProvider } from "../config/traffic.js";
import { CAPABILITIES } from "./capabilities.js";
import { CONTINENT_CENTROIDS, distanceKm, type LatLon } from "./geo.js";
import type { HealthState } from "./health.js";
import { answeringTargets, type RegionTarget, type TrafficPolicy } from "./policy.js";

export type RegionHealth = Readonly<Record<string, HealthState>>;

export interface ClientHint {
  continent?: Continent;
  location?: LatLon;
}

export interface Answer {
  regionId: string;
  weight: number;
}

export interface AnswerSet {
  answers: Answer[];
  /** True when no region was serving and the answer is every region (fail open). */
  failOpen: boolean;
}

const stateOf = (health: RegionHealth, id: string): HealthState => health[id] ?? "healthy";

function weighted(targets: readonly RegionTarget[], health: RegionHealth): Answer[] {
  return targets.map((t) => ({ regionId: t.id, weight: t.weights[stateOf(health, t.id)] })).filter((a) => a.weight > 0);
}

function failOpen(targets: readonly RegionTarget[]): AnswerSet {
  const total = targets.reduce((s, t) => s + t.weights.healthy, 0);
  return { answers: targets.map((t) => ({ regionId: t.id, weight: total === 0 ? 1 : t.weights.healthy })).filter((a) => a.weight > 0), failOpen: true };
}

function clientContinent(policy: TrafficPolicy, client: ClientHint): Continent | undefined {
  if (client.continent !== undefined) return client.continent;
  if (client.location === undefined) return undefined;
  const at = client.location;
  return policy.geoGroups.map((g) => g.continent).sort((a, b) => distanceKm(at, CONTINENT_CENTROIDS[a]) - distanceKm(at, CONTINENT_CENTROIDS[b]))[0];
}

/** The regions the policy answers with, given health and (optionally) the client's whereabouts. */
export function answerSet(policy: TrafficPolicy, health: RegionHealth, client: ClientHint = {}): AnswerSet {
  // Drained regions are out whatever their health, fail-open included (an operator took them out).
  const targets = answeringTargets(policy);
  const serving = targets.filter((t) => stateOf(health, t.id) !== "unhealthy");
  switch (policy.mode) {
    case "weighted":
    case "anycast": {
      const answers = weighted(targets, health);
      return answers.length > 0 ? { answers, failOpen: false } : failOpen(targets);
    }
    case "geo": {
      const continent = clientContinent(policy, client);
      const group = policy.geoGroups.find((g) => g.continent === continent);
      if (group !== undefined) {
        const answers = weighted(
          targets.filter((t) => group.regionIds.includes(t.id)),
          health,
        );
        if (answers.length > 0) return { answers, failOpen: false };
      }
      const answers = weighted(targets, health);
      return answers.length > 0 ? { answers, failOpen: false } : failOpen(targets);
    }
    case "latency": {
      const at = client.location ?? (client.continent !== undefined ? CONTINENT_CENTROIDS[client.continent] : undefined);
      const pool = serving.length > 0 ? serving : targets;
      const pick = at === undefined ? pool[0]! : [...pool].sort((a, b) => distanceKm(at, a.location) - distanceKm(at, b.location))[0]!;
      return { answers: [{ regionId: pick.id, weight: 1 }], failOpen: serving.length === 0 };
    }
    case "failover": {
      const pick = serving[0] ?? targets[0]!;
      return { answers: [{ regionId: pick.id, weight: 1 }], failOpen: serving.length === 0 };
    }
  }
}

/**
 * Region health as a provider sees it: one that cannot weight degraded regions (capability matrix)
 * probes only the serving path, so to it a degraded region is healthy.
 */
export function providerHealth(health: RegionHealth, provider: DnsProvider): RegionHealth {
  if (CAPABILITIES[provider].degradedWeighting) return health;
  return Object.fromEntries(Object.entries(health).map(([id, state]) => [id, state === "degraded" ? "healthy" : state]));
}

/** The answer as a resolver serves it: addresses and weights, from each region's live endpoint. */
export function answerAddresses(
  policy: TrafficPolicy,
  health: RegionHealth,
  endpoints: Readonly<Record<string, string>>,
  client: ClientHint = {},
): { address: string; weight: number; regionId: string }[] {
  return answerSet(policy, health, client).answers.map((a) => {
    const address = endpoints[a.regionId];
    if (address === undefined) throw new Error(`no endpoint for region ${a.regionId}`);
    return { address, weight: a.weight, regionId: a.regionId };
  });
}
