import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planForMode } from "./plans.js";

const PROFILE = "azure-native:trafficmanager:Profile";
const ENDPOINT = "azure-native:trafficmanager:Endpoint";
const endpoints = (plan: Plan) => plan.outputs["endpoints"] as Record<string, string>;
const endpointsOf = (plan: Plan, profileName: string) => ofType(plan, ENDPOINT).filter((e) => e.inputs["profileName"] === profileName);

describe("Azure Traffic Manager", () => {
  it("weighted: a Weighted profile whose monitor carries the spec's numbers; one external endpoint per region", async () => {
    const plan = await planForMode("weighted", {
      providers: { primary: "trafficmanager" },
      weights: { "azure-weu": 0, "aws-use1": 250 },
      ttlSeconds: 20,
      healthCheck: { protocol: "HTTPS", port: 443, path: "/healthz", intervalSeconds: 10, timeoutSeconds: 6, failureThreshold: 4 },
    });
    expect(byName(plan, PROFILE, "tm-gslb").inputs).toMatchObject({
      profileName: "meridian-example-com-gslb",
      trafficRoutingMethod: "Weighted",
      dnsConfig: { relativeName: "meridian-example-com-gslb", ttl: 20 },
      monitorConfig: { protocol: "HTTPS", port: 443, path: "/healthz", intervalInSeconds: 10, timeoutInSeconds: 6, toleratedNumberOfFailures: 3 },
    });
    const eps = endpointsOf(plan, "meridian-example-com-gslb");
    expect(eps).toHaveLength(6);
    expect(byName(plan, ENDPOINT, "tm-weighted-aws-use1").inputs).toMatchObject({ endpointType: "ExternalEndpoints", target: endpoints(plan)["aws-use1"], weight: 250, endpointStatus: "Enabled" });
    // Weight 0 is not a Traffic Manager weight: the endpoint is disabled instead.
    expect(byName(plan, ENDPOINT, "tm-weighted-azure-weu").inputs).toMatchObject({ weight: 1, endpointStatus: "Disabled" });
    expect(byName(plan, "azure-native:dns:RecordSet", "azuredns-gslb").inputs).toMatchObject({
      relativeRecordSetName: "api",
      recordType: "CNAME",
      ttl: 20,
      cnameRecord: { cname: "meridian-example-com-gslb.trafficmanager.net" },
    });
  });

  it("latency: Performance routing with each endpoint's (nearest) Azure location", async () => {
    const plan = await planForMode("latency");
    expect(byName(plan, PROFILE, "tm-gslb").inputs["trafficRoutingMethod"]).toBe("Performance");
    const location = Object.fromEntries(endpointsOf(plan, "meridian-example-com-gslb").map((e) => [e.inputs["endpointName"], e.inputs["endpointLocation"]]));
    expect(location).toEqual({ "aws-use1": "eastus", "aws-euw1": "northeurope", "gcp-usc1": "centralus", "gcp-asne1": "japaneast", "azure-weu": "westeurope", "azure-sea": "southeastasia" });
  });

  it("failover: Priority routing in failover order", async () => {
    const plan = await planForMode("failover", { failoverOrder: ["azure-sea", "aws-use1"] });
    expect(byName(plan, PROFILE, "tm-gslb").inputs["trafficRoutingMethod"]).toBe("Priority");
    const priority = Object.fromEntries(endpointsOf(plan, "meridian-example-com-gslb").map((e) => [e.inputs["endpointName"], e.inputs["priority"]]));
    expect(priority).toEqual({ "azure-sea": 1, "aws-use1": 2, "aws-euw1": 3, "gcp-usc1": 4, "gcp-asne1": 5, "azure-weu": 6 });
  });

  it("geo: a Geographic parent over nested per-continent Priority profiles (group first, every region second)", async () => {
    const plan = await planForMode("geo");
    expect(byName(plan, PROFILE, "tm-gslb").inputs["trafficRoutingMethod"]).toBe("Geographic");
    const top = endpointsOf(plan, "meridian-example-com-gslb");
    const mapping = Object.fromEntries(top.map((e) => [e.inputs["endpointName"], e.inputs["geoMapping"]]));
    expect(mapping).toEqual({ "geo-world": ["WORLD"], "geo-north-america": ["GEO-NA", "GEO-SA"], "geo-europe": ["GEO-EU", "GEO-AF"], "geo-asia": ["GEO-AS", "GEO-AP"] });
    for (const e of top) expect(e.inputs).toMatchObject({ endpointType: "NestedEndpoints", minChildEndpoints: 1 });
    const chain = endpointsOf(plan, "meridian-example-com-geo-europe-chain").map((e) => [e.inputs["priority"], e.inputs["targetResourceId"]]);
    expect(chain.sort()).toEqual([
      [1, "tm-geo-europe-id"],
      [2, "tm-geo-all-id"],
    ]);
    expect(
      endpointsOf(plan, "meridian-example-com-geo-europe")
        .map((e) => e.inputs["endpointName"])
        .sort(),
    ).toEqual(["aws-euw1-base", "aws-euw1-full", "azure-weu-base", "azure-weu-full"]);
    expect(endpointsOf(plan, "meridian-example-com-geo-all")).toHaveLength(12);
    // top + all + (group + chain) per owned continent + per region (aggregator + one per signal)
    expect(ofType(plan, PROFILE)).toHaveLength(1 + 1 + 3 * 2 + 6 * (1 + 3));
  });

  it("with several signals, degraded weighting is exact: full and base entries nest a per-region aggregator of per-signal profiles", async () => {
    const plan = await planForMode("weighted", { weights: { "gcp-usc1": 200 }, degraded: { failingShare: 0.34, weightFactor: 0.25 } });
    const top = Object.fromEntries(endpointsOf(plan, "meridian-example-com-gslb").map((e) => [e.inputs["endpointName"], e.inputs]));
    expect(top["gcp-usc1-full"]).toMatchObject({ endpointType: "NestedEndpoints", weight: 150, minChildEndpoints: 2, targetResourceId: "tm-region-gcp-usc1-id" });
    expect(top["gcp-usc1-base"]).toMatchObject({ endpointType: "NestedEndpoints", weight: 50, minChildEndpoints: 1, targetResourceId: "tm-region-gcp-usc1-id" });
    expect(Object.keys(top)).toHaveLength(12);
    const signals = endpointsOf(plan, "meridian-example-com-region-gcp-usc1");
    expect(signals.map((e) => [e.inputs["endpointName"], e.inputs["targetResourceId"]]).sort()).toEqual([
      ["region-gcp-usc1-escrow", "tm-region-gcp-usc1-escrow-id"],
      ["region-gcp-usc1-gateway", "tm-region-gcp-usc1-gateway-id"],
      ["region-gcp-usc1-replication", "tm-region-gcp-usc1-replication-id"],
    ]);
    expect(byName(plan, PROFILE, "tm-region-gcp-usc1-escrow").inputs).toMatchObject({ monitorConfig: { path: "/healthz/escrow", intervalInSeconds: 30, toleratedNumberOfFailures: 2 } });
    const endpoints = plan.outputs["endpoints"] as Record<string, string>;
    expect(endpointsOf(plan, "meridian-example-com-region-gcp-usc1-escrow").map((e) => e.inputs)).toEqual([
      expect.objectContaining({ endpointType: "ExternalEndpoints", target: endpoints["gcp-usc1"], priority: 1 }),
    ]);
  });
});
