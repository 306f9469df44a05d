/**
 * Route 53 as rendered must answer what the model says: evaluate the plan's health checks and records
 * with Route 53's rules (CALCULATED thresholds, weighted sets, alias evaluateTargetHealth, geolocation
 * fall-through to the default record, failover PRIMARY/SECONDARY, fail-open) under random region health,
 * and compare with `answerSet`.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { answerSet, type RegionHealth } from "../../../model/traffic/answer.js";
import { HEALTH_STATES } from "../../../model/traffic/health.js";
import { trafficPolicy, type TrafficPolicy } from "../../../model/traffic/policy.js";
import { continents } from "../../../model/config/vocabulary.js";
import { CONTINENT_CENTROIDS, distanceKm, ROUTE53_CONTINENT } from "../../../model/traffic/geo.js";
import { ofType, type Plan } from "../../harness.js";
import { specWithDns } from "../../model/traffic/fixtures.js";
import { planForMode, prodDns, PROVIDERS_FOR } from "./plans.js";

type Inputs = Record<string, unknown>;
const continentByCode = new Map(continents.map((c) => [ROUTE53_CONTINENT[c], c]));

function route53(plan: Plan, health: RegionHealth, policy: TrafficPolicy) {
  const checks = new Map(ofType(plan, "aws:route53/healthCheck:HealthCheck").map((c) => [`${c.name}-id`, c]));
  const passing = (region: string) => {
    const state = health[region] ?? "healthy";
    const n = policy.signals.length;
    return state === "healthy" ? n : state === "degraded" ? policy.fullHealthThreshold - 1 : 0;
  };
  const checkUp = (id: string): boolean => {
    const c = checks.get(id)!;
    if (c.inputs["type"] === "CALCULATED") return (c.inputs["childHealthchecks"] as string[]).filter(checkUp).length >= (c.inputs["childHealthThreshold"] as number);
    const region = (c.inputs["tags"] as Record<string, string>)["meridian:region"]!;
    return policy.signals.findIndex((s) => s.path === c.inputs["resourcePath"]) < passing(region);
  };
  const records = ofType(plan, "aws:route53/record:Record").map((r) => r.inputs);
  const named = (name: string) => records.filter((r) => r["name"] === name);
  // An alias into the same zone targets a record set there; an alias into another zone is an AWS load
  // balancer (a region's gateway), answered as its name, healthy while the record's own check passes.
  const innerAlias = (r: Inputs) => {
    const alias = (r["aliases"] as { name: string; zoneId: string }[] | undefined)?.[0];
    return alias !== undefined && alias.zoneId === r["zoneId"] ? alias : undefined;
  };
  const addressOf = (r: Inputs): string => (r["records"] as string[] | undefined)?.[0] ?? (r["aliases"] as { name: string }[])[0]!.name;
  const up = (r: Inputs): boolean => {
    const alias = innerAlias(r);
    if (alias) return named(alias.name).some(up);
    return r["healthCheckId"] === undefined || checkUp(r["healthCheckId"] as string);
  };
  const resolve = (r: Inputs): Map<string, number> => {
    const alias = innerAlias(r);
    return alias ? evaluate(alias.name) : new Map([[addressOf(r), 1]]);
  };
  const weightedAnswer = (set: Inputs[]): Map<string, number> => {
    const live = set.filter(up);
    const chosen = live.length > 0 ? live : set; // all unhealthy: Route 53 answers as if all were healthy
    const out = new Map<string, number>();
    for (const r of chosen) {
      const w = (r["weightedRoutingPolicies"] as { weight: number }[])[0]!.weight;
      const address = addressOf(r);
      if (w > 0) out.set(address, (out.get(address) ?? 0) + w);
    }
    return out;
  };
  let client: string | undefined;
  function evaluate(name: string): Map<string, number> {
    const set = named(name);
    if (set[0]!["weightedRoutingPolicies"]) return weightedAnswer(set);
    if (set[0]!["geoproximityRoutingPolicy"]) {
      // Nearest healthy record to the client (a continent's centroid); all unhealthy: nearest of all.
      const at = CONTINENT_CENTROIDS[continentByCode.get(client!)!];
      const coords = (r: Inputs) => (r["geoproximityRoutingPolicy"] as { coordinates: { latitude: string; longitude: string }[] }).coordinates[0]!;
      const km = (r: Inputs) => distanceKm(at, { lat: Number(coords(r).latitude), lon: Number(coords(r).longitude) });
      const live = set.filter(up);
      return resolve([...(live.length > 0 ? live : set)].sort((a, b) => km(a) - km(b))[0]!);
    }
    if (set[0]!["geolocationRoutingPolicies"]) {
      const geo = (r: Inputs) => (r["geolocationRoutingPolicies"] as { continent?: string }[])[0]!.continent;
      const match = set.find((r) => client !== undefined && geo(r) === client);
      const fallback = set.find((r) => geo(r) === undefined)!;
      return resolve(match !== undefined && up(match) ? match : fallback);
    }
    const kind = (r: Inputs) => (r["failoverRoutingPolicies"] as { type: string }[])[0]!.type;
    const primary = set.find((r) => kind(r) === "PRIMARY")!;
    const secondary = set.find((r) => kind(r) === "SECONDARY")!;
    return resolve(up(primary) || !up(secondary) ? primary : secondary);
  }
  return (continent?: string) => {
    client = continent;
    return evaluate(policy.fqdn);
  };
}

/** The AWS regions' gateway load balancer names, as the mock publishes them on the LoadBalancer Services. */
function gatewayLoadBalancers(plan: Plan): [string, string][] {
  const aliases = ofType(plan, "aws:route53/record:Record")
    .flatMap((r) => (r.inputs["aliases"] as { name: string; zoneId: string }[] | undefined) ?? [])
    .filter((a) => /\.elb\.amazonaws\.com$/.test(a.name));
  return aliases.map((a) => [a.name, /^k8s-(.+)-meridian-gateway-\d+\.elb\.amazonaws\.com$/.exec(a.name)![1]!]);
}

const healthArb = (ids: string[]) => fc.record(Object.fromEntries(ids.map((id) => [id, fc.constantFrom(...HEALTH_STATES)]))) as fc.Arbitrary<RegionHealth>;

describe("Route 53 answers equal the model's answerSet", () => {
  for (const mode of ["weighted", "geo", "failover", "latency"] as const) {
    describe(mode, () => {
      let plan: Plan;
      const patch = { weights: { "aws-use1": 200, "gcp-asne1": 40 }, failoverOrder: ["gcp-usc1", "azure-weu", "aws-use1"] };
      beforeAll(async () => {
        plan = await planForMode(mode, patch);
      });
      it("for every health combination and client continent", () => {
        const policy = trafficPolicy(specWithDns("prod", { ...prodDns(), routing: mode, providers: PROVIDERS_FOR[mode], ...patch }));
        const endpoints = plan.outputs["endpoints"] as Record<string, string>;
        const regionOf = new Map([...Object.entries(endpoints).map(([id, a]) => [a, id] as const), ...gatewayLoadBalancers(plan)]);
        // Latency needs to know where the client is.
        const clients = mode === "latency" ? fc.constantFrom(...continents) : fc.constantFrom(undefined, ...continents);
        fc.assert(
          fc.property(healthArb(policy.targets.map((t) => t.id)), clients, (health, continent) => {
            const model = answerSet(policy, health, { continent });
            const rendered = route53(plan, health, policy)(continent === undefined ? undefined : ROUTE53_CONTINENT[continent]);
            const got = Object.fromEntries([...rendered].map(([address, w]) => [regionOf.get(address)!, w]));
            const want = Object.fromEntries(model.answers.map((a) => [a.regionId, a.weight]));
            expect(got).toEqual(want);
          }),
          { numRuns: 80 },
        );
      });
    });
  }
});
