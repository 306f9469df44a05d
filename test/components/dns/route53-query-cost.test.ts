/**
 * The cost model's split of Route 53 queries (model/traffic/usage.ts) against the records the plan has:
 * with every region healthy, the records at the host's own name answer its queries, and those that are
 * aliases to a load balancer (another zone: an NLB's canonical zone) answer the free share.
 */
import { describe, expect, it } from "vitest";
import { NLB_CANONICAL_HOSTED_ZONES } from "../../../model/traffic/load-balancers.js";
import { trafficUsage } from "../../../model/traffic/usage.js";
import { ofType, type Plan } from "../../harness.js";
import { specWithDns } from "../../model/traffic/fixtures.js";
import { planForMode, planWithDns, PROVIDERS_FOR, type DnsPatch } from "./plans.js";

type RecordInputs = { name: string; zoneId: string; aliases?: { zoneId: string }[]; weightedRoutingPolicies?: { weight: number }[]; failoverRoutingPolicies?: { type: string }[] };
const nlbZones = new Set(Object.values(NLB_CANONICAL_HOSTED_ZONES));

/** The share of the host's queries the plan answers by a load-balancer alias (every region healthy). */
function planAliasShare(plan: Plan, fqdn: string): number {
  const host = ofType(plan, "aws:route53/record:Record")
    .map((r) => r.inputs as RecordInputs)
    .filter((r) => r.name === fqdn);
  const toLoadBalancer = (r: RecordInputs) => r.aliases?.some((a) => a.zoneId !== r.zoneId && nlbZones.has(a.zoneId)) === true;
  const failover = host.filter((r) => r.failoverRoutingPolicies !== undefined);
  if (failover.length > 0) return toLoadBalancer(failover.find((r) => r.failoverRoutingPolicies![0]!.type === "PRIMARY")!) ? 1 : 0;
  if (host.every((r) => r.weightedRoutingPolicies !== undefined)) {
    const weight = (rs: RecordInputs[]) => rs.reduce((s, r) => s + r.weightedRoutingPolicies![0]!.weight, 0);
    return weight(host.filter(toLoadBalancer)) / weight(host);
  }
  // Geolocation: answered by aliases into the zone unless one of them is a load balancer.
  return host.some(toLoadBalancer) ? Number.NaN : 0;
}

function usageAliasShare(patch: DnsPatch, stack = "prod"): number {
  const items = trafficUsage(specWithDns(stack, patch)).filter((i) => i.resourceType === "aws:route53/record:Record");
  const total = items.reduce((s, i) => s + i.monthlyQuantity, 0);
  return items.filter((i) => i.sku === "route53.queries.aliasToAws").reduce((s, i) => s + i.monthlyQuantity, 0) / total;
}

describe("Route 53 query cost follows the records the plan renders", () => {
  const cases: { mode: "weighted" | "failover" | "geo"; patch: DnsPatch }[] = [
    { mode: "weighted", patch: { weights: { "aws-use1": 40, "aws-euw1": 20, "gcp-usc1": 10, "gcp-asne1": 10, "azure-weu": 10, "azure-sea": 10 } } },
    { mode: "failover", patch: { failoverOrder: ["aws-euw1", "gcp-usc1", "aws-use1"] } },
    { mode: "failover", patch: { failoverOrder: ["gcp-usc1", "aws-euw1"] } },
    { mode: "geo", patch: {} },
  ];
  for (const { mode, patch } of cases) {
    it(`${mode} ${JSON.stringify(patch)}`, async () => {
      const plan = await planForMode(mode, patch);
      const full = { routing: mode, providers: PROVIDERS_FOR[mode], ...patch };
      const share = planAliasShare(plan, "api.meridian.example.com");
      expect(share).toBeGreaterThanOrEqual(0);
      expect(usageAliasShare(full)).toBeCloseTo(share, 9);
    });
  }

  it("staging as shipped: aws-use1's PRIMARY alias answers every Route 53 query (docs/cost.md: $0.00)", async () => {
    const plan = await planWithDns({}, "staging");
    expect(planAliasShare(plan, "api.staging.meridian.example.com")).toBe(1);
    expect(usageAliasShare({}, "staging")).toBe(1);
  });
});
