/**
 * Cloudflare as rendered must answer what the model says for a provider that sees only the serving path
 * (`providerHealth`): evaluate the plan's pools and load balancer with Cloudflare's rules (a pool is
 * healthy with minimumOrigins healthy origins; random steering spreads over healthy origins by weight;
 * geo region pools are tried in order, then the default pools; all down → the fallback pool's origins).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { answerSet, providerHealth, type RegionHealth } from "../../../model/traffic/answer.js";
import { CLOUDFLARE_REGIONS } from "../../../model/traffic/geo.js";
import { HEALTH_STATES } from "../../../model/traffic/health.js";
import { trafficPolicy, type TrafficPolicy } from "../../../model/traffic/policy.js";
import { continents } from "../../../model/config/vocabulary.js";
import { byName, ofType, type Plan } from "../../harness.js";
import { specWithDns } from "../../model/traffic/fixtures.js";
import { planForMode, prodDns } from "./plans.js";

type Origin = { name: string; weight: number };

function cloudflare(plan: Plan, health: RegionHealth, policy: TrafficPolicy) {
  const pools = new Map(ofType(plan, "cloudflare:index/loadBalancerPool:LoadBalancerPool").map((p) => [`${p.name}-id`, p.inputs]));
  const lb = byName(plan, "cloudflare:index/loadBalancer:LoadBalancer", "cloudflare-lb").inputs;
  const seen = providerHealth(health, "cloudflare");
  const originUp = (o: Origin) => (seen[o.name] ?? "healthy") !== "unhealthy";
  const origins = (id: string) => pools.get(id)!["origins"] as Origin[];
  const poolUp = (id: string) => origins(id).filter(originUp).length >= (pools.get(id)!["minimumOrigins"] as number);
  const spread = (id: string, healthyOnly: boolean) => {
    const live = origins(id).filter((o) => o.weight > 0 && (!healthyOnly || originUp(o)));
    const scale = Math.max(...policy.targets.map((t) => t.weights.healthy));
    return Object.fromEntries(live.map((o) => [o.name, Math.round(o.weight * scale)]));
  };
  return (continent?: (typeof continents)[number]) => {
    const candidates = continent === undefined ? [] : ((lb["regionPools"] as Record<string, string[]> | undefined)?.[CLOUDFLARE_REGIONS[continent][0]!] ?? []);
    const ordered = [...candidates, ...(lb["defaultPools"] as string[])];
    const chosen = ordered.find(poolUp);
    const answer = chosen === undefined ? spread(lb["fallbackPool"] as string, false) : spread(chosen, true);
    // Steering "off" answers one region: the first healthy pool's only origin.
    return policy.mode === "failover" ? Object.fromEntries(Object.keys(answer).map((k) => [k, 1])) : answer;
  };
}

describe("Cloudflare answers equal the model's answerSet (serving-path view)", () => {
  for (const mode of ["weighted", "geo", "failover"] as const) {
    describe(mode, () => {
      let plan: Plan;
      const patch = { providers: { primary: "cloudflare" }, weights: { "aws-use1": 200, "gcp-asne1": 40 }, failoverOrder: ["gcp-usc1", "azure-weu", "aws-use1"] };
      beforeAll(async () => {
        plan = await planForMode(mode, patch);
      });
      it("for every health combination and client continent", () => {
        const policy = trafficPolicy(specWithDns("prod", { ...prodDns(), routing: mode, ...patch }));
        const states = fc.record(Object.fromEntries(policy.targets.map((t) => [t.id, fc.constantFrom(...HEALTH_STATES)]))) as fc.Arbitrary<RegionHealth>;
        fc.assert(
          fc.property(states, fc.constantFrom(undefined, ...continents), (health, continent) => {
            const want = Object.fromEntries(answerSet(policy, providerHealth(health, "cloudflare"), { continent }).answers.map((a) => [a.regionId, a.weight]));
            expect(cloudflare(plan, health, policy)(continent)).toEqual(want);
          }),
          { numRuns: 80 },
        );
      });
    });
  }
});
