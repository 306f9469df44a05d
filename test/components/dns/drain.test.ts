/**
 * Controlled failover (`meridian:dns.drained`, set by `meridian traffic drain`): every provider's rendered
 * answer set leaves the drained regions out, each through its own mechanism — Route 53 renders no record
 * for them, Cloud DNS leaves them out of its routing items, Traffic Manager disables their endpoints,
 * Cloudflare disables their origins (and a pool left with none).
 */
import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planForMode } from "./plans.js";

const R53 = "aws:route53/record:Record";
const HC = "aws:route53/healthCheck:HealthCheck";
const RECORDSET = "gcp:dns/recordSet:RecordSet";
const TM = "azure-native:trafficmanager:Endpoint";
const POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool";
const LB = "cloudflare:index/loadBalancer:LoadBalancer";
const endpoints = (plan: Plan) => plan.outputs["endpoints"] as Record<string, string>;

/** Region ids Route 53 answers with: set identifiers of its records with addresses or NLB aliases. */
function route53Regions(plan: Plan): Set<string> {
  const ids = Object.keys(endpoints(plan));
  const out = new Set<string>();
  for (const r of ofType(plan, R53)) {
    const set = String(r.inputs["setIdentifier"] ?? "");
    for (const id of ids) if (set === id || set.startsWith(`${id}-`)) out.add(id);
  }
  return out;
}

/** Region ids in Cloud DNS's routing policy items. */
function cloudDnsRegions(plan: Plan): Set<string> {
  const byAddress = new Map(Object.entries(endpoints(plan)).map(([id, a]) => [a, id]));
  const text = JSON.stringify(byName(plan, RECORDSET, "clouddns-gslb").inputs["routingPolicy"]);
  return new Set([...byAddress].filter(([a]) => text.includes(`"${a}"`)).map(([, id]) => id));
}

/** Region ids of Traffic Manager's enabled region entries (the per-signal probes excluded). */
function trafficManagerRegions(plan: Plan): Set<string> {
  const ids = Object.keys(endpoints(plan));
  const entries = ofType(plan, TM).filter((e) => !String(e.inputs["profileName"]).includes("-region-"));
  return new Set(entries.filter((e) => e.inputs["endpointStatus"] === "Enabled").flatMap((e) => ids.filter((id) => String(e.inputs["endpointName"]).startsWith(id))));
}

/** Region ids of Cloudflare's enabled origins in enabled pools. */
function cloudflareRegions(plan: Plan): Set<string> {
  const pools = ofType(plan, POOL).filter((p) => p.inputs["enabled"] !== false);
  return new Set(pools.flatMap((p) => (p.inputs["origins"] as { name: string; enabled: boolean }[]).filter((o) => o.enabled).map((o) => o.name)));
}

const PROVIDERS = { route53: route53Regions, clouddns: cloudDnsRegions, trafficmanager: trafficManagerRegions, cloudflare: cloudflareRegions };

describe("controlled failover: a drained region leaves every provider's answer set", () => {
  it("geo (the prod hierarchy): draining Europe's two regions removes them everywhere; the rest still answer", async () => {
    const before = await planForMode("geo");
    const after = await planForMode("geo", { drained: ["aws-euw1", "azure-weu"] });
    const all = Object.keys(endpoints(before)).sort();
    const rest = all.filter((id) => id !== "aws-euw1" && id !== "azure-weu");
    for (const [provider, regions] of Object.entries(PROVIDERS)) {
      expect([...regions(before)].sort(), provider).toEqual(all);
      expect([...regions(after)].sort(), provider).toEqual(rest);
    }
    // Route 53 keeps the drained regions' health checks (a restore answers at once) and sends Europe to every region.
    expect(ofType(after, HC).filter((h) => (h.inputs["tags"] as Record<string, string>)["meridian:region"] === "aws-euw1").length).toBeGreaterThan(0);
    expect(byName(after, R53, "route53-geo-europe").inputs["aliases"]).toMatchObject([{ name: "all.gslb.api.meridian.example.com" }]);
    // Cloud DNS: Europe's item answers the remaining regions.
    const geos = (byName(after, RECORDSET, "clouddns-gslb").inputs["routingPolicy"] as { geos: { location: string; healthCheckedTargets: { externalEndpoints: string[] } }[] }).geos;
    const e = endpoints(after);
    expect(new Set(geos.find((g) => g.location === "europe-west1")!.healthCheckedTargets.externalEndpoints)).toEqual(new Set(rest.map((id) => e[id])));
    // Cloudflare: Europe's pool has no enabled origin, so it is disabled.
    expect(byName(after, POOL, "cloudflare-pool-europe").inputs["enabled"]).toBe(false);
    // Traffic Manager: Disabled, not deleted.
    expect(byName(after, TM, "tm-geo-all-aws-euw1-full").inputs["endpointStatus"]).toBe("Disabled");
  });

  it("failover: draining the primary makes the next region primary on every provider", async () => {
    const plan = await planForMode("failover", { failoverOrder: ["aws-use1", "aws-euw1"], drained: ["aws-use1"] });
    const e = endpoints(plan);
    for (const [provider, regions] of Object.entries(PROVIDERS)) expect(regions(plan).has("aws-use1"), provider).toBe(false);
    expect(byName(plan, R53, "route53-failover-0-primary").inputs["setIdentifier"]).toBe("aws-euw1-primary");
    const pb = (byName(plan, RECORDSET, "clouddns-gslb").inputs["routingPolicy"] as { primaryBackup: { primary: unknown } }).primaryBackup;
    expect(pb.primary).toEqual({ externalEndpoints: [e["aws-euw1"]] });
    const lb = byName(plan, LB, "cloudflare-lb").inputs;
    expect(lb["fallbackPool"]).toBe("cloudflare-pool-aws-euw1-id");
    expect(lb["defaultPools"]).not.toContain("cloudflare-pool-aws-use1-id");
    expect(byName(plan, TM, "tm-priority-aws-use1").inputs["endpointStatus"]).toBe("Disabled");
  });

  it("weighted, one region left: each provider answers only it", async () => {
    const plan = await planForMode("weighted", { drained: ["aws-euw1", "gcp-usc1", "gcp-asne1", "azure-weu", "azure-sea"] });
    for (const [provider, regions] of Object.entries(PROVIDERS)) expect([...regions(plan)], provider).toEqual(["aws-use1"]);
  });
});
