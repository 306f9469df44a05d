import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planForMode } from "./plans.js";

const RECORDSET = "gcp:dns/recordSet:RecordSet";
const gslb = (plan: Plan) => byName(plan, RECORDSET, "clouddns-gslb").inputs;
const endpoints = (plan: Plan) => plan.outputs["endpoints"] as Record<string, string>;

describe("Cloud DNS", () => {
  it("one compute health check with the spec's numbers and three source regions, shared by the routing policy", async () => {
    const plan = await planForMode("weighted", {
      providers: { primary: "clouddns" },
      weights: { "aws-use1": 30 },
      ttlSeconds: 120,
      healthCheck: { protocol: "HTTPS", port: 443, path: "/ready", intervalSeconds: 60, timeoutSeconds: 7, failureThreshold: 5 },
    });
    expect(ofType(plan, "gcp:compute/healthCheck:HealthCheck")).toHaveLength(1);
    expect(byName(plan, "gcp:compute/healthCheck:HealthCheck", "clouddns-hc").inputs).toMatchObject({
      checkIntervalSec: 60,
      timeoutSec: 7,
      healthyThreshold: 5,
      unhealthyThreshold: 5,
      httpsHealthCheck: { port: 443, requestPath: "/ready" },
      sourceRegions: ["us-central1", "europe-west1", "asia-northeast1"],
    });
    const set = gslb(plan);
    expect(set).toMatchObject({ name: "api.meridian.example.com.", type: "A", ttl: 120, routingPolicy: { healthCheck: "clouddns-hc-id" } });
    const wrrs = (set["routingPolicy"] as { wrrs: { weight: number; healthCheckedTargets: { externalEndpoints: string[] } }[] }).wrrs;
    expect(wrrs[0]).toEqual({ weight: 30, healthCheckedTargets: { externalEndpoints: [endpoints(plan)["aws-use1"]] } });
    expect(wrrs.map((w) => w.weight)).toEqual([30, 30, 30, 30, 30, 30]);
  });

  it("geo: one item per continent at its Google location, targets from the continent's group", async () => {
    const plan = await planForMode("geo");
    const geos = (gslb(plan)["routingPolicy"] as { geos: { location: string; healthCheckedTargets: { externalEndpoints: string[] } }[] }).geos;
    const e = endpoints(plan);
    expect(geos.map((g) => g.location)).toEqual(["us-central1", "southamerica-east1", "europe-west1", "asia-northeast1", "australia-southeast1", "africa-south1"]);
    expect(geos[2]!.healthCheckedTargets.externalEndpoints).toEqual([e["aws-euw1"], e["azure-weu"]]);
    expect(geos[4]!.healthCheckedTargets.externalEndpoints).toEqual([e["gcp-asne1"], e["azure-sea"]]);
  });

  it("failover: primaryBackup with the first region primary and the rest as geo backups, no trickle", async () => {
    const plan = await planForMode("failover", { failoverOrder: ["gcp-usc1", "aws-euw1"] });
    const pb = (gslb(plan)["routingPolicy"] as { primaryBackup: { primary: unknown; backupGeos: { location: string; healthCheckedTargets: { externalEndpoints: string[] } }[]; trickleRatio: number } })
      .primaryBackup;
    const e = endpoints(plan);
    expect(pb.primary).toEqual({ externalEndpoints: [e["gcp-usc1"]] });
    expect(pb.trickleRatio).toBe(0);
    expect(pb.backupGeos.map((b) => [b.location, b.healthCheckedTargets.externalEndpoints])).toEqual([
      ["europe-west1", [e["aws-euw1"], e["azure-weu"]]],
      ["us-central1", [e["aws-use1"]]],
      ["asia-northeast1", [e["gcp-asne1"], e["azure-sea"]]],
    ]);
  });

  it("serves the static records in zone-file spelling", async () => {
    const plan = await planForMode("geo");
    expect(byName(plan, RECORDSET, "clouddns-www-cname").inputs).toMatchObject({ name: "www.meridian.example.com.", rrdatas: ["api.meridian.example.com."] });
    expect(byName(plan, RECORDSET, "clouddns-apex-txt").inputs).toMatchObject({ name: "meridian.example.com.", rrdatas: ['"v=spf1 -all"'] });
    expect(byName(plan, "gcp:dns/managedZone:ManagedZone", "clouddns-zone").inputs).toMatchObject({ dnsName: "meridian.example.com.", visibility: "public" });
  });
});
