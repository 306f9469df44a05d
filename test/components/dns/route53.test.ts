import { describe, expect, it } from "vitest";
import { readStackConfigMap } from "../../../stacks/load.js";
import { byName, evaluateStack, ofType, type Plan } from "../../harness.js";
import { planForMode, prodDns, TRAFFIC } from "./plans.js";
import { NLB_CANONICAL_HOSTED_ZONES } from "../../../model/traffic/load-balancers.js";

const HC = "aws:route53/healthCheck:HealthCheck";
const RECORD = "aws:route53/record:Record";
const records = (plan: Plan, name: string) => ofType(plan, RECORD).filter((r) => r.inputs["name"] === name);
const endpoints = (plan: Plan) => plan.outputs["endpoints"] as Record<string, string>;

describe("Route 53 records for AWS regions alias the gateway's load balancer", () => {
  it("in every routing mode: an A alias to the NLB's DNS name in its region's canonical zone, never an A record with an address", async () => {
    for (const mode of ["weighted", "geo", "failover", "latency"] as const) {
      const plan = await planForMode(mode);
      const awsIds = new Map([
        ["aws-use1", "us-east-1"],
        ["aws-euw1", "eu-west-1"],
      ]);
      const awsAddresses = new Set([...awsIds.keys()].map((id) => endpoints(plan)[id]));
      const lbNames = new Map(
        ofType(plan, "kubernetes:core/v1:Service")
          .filter((s) => /^aws-.*-meridian-gateway$/.test(s.name))
          .map((s) => [s.name.replace(/-meridian-gateway$/, ""), s]),
      );
      expect([...lbNames.keys()].sort()).toEqual([...awsIds.keys()].sort());
      let aliased = 0;
      for (const r of ofType(plan, RECORD)) {
        const i = r.inputs as { type: string; records?: string[]; ttl?: number; zoneId: string; aliases?: { name: string; zoneId: string; evaluateTargetHealth: boolean }[] };
        for (const v of i.records ?? []) expect(awsAddresses.has(v), `${mode} ${r.name}: an A record with an AWS gateway's address`).toBe(false);
        const lb = i.aliases?.find((a) => a.zoneId !== i.zoneId);
        if (lb === undefined) continue;
        aliased += 1;
        const id = /^k8s-(.+)-meridian-gateway-\d+\.elb\.amazonaws\.com$/.exec(lb.name)?.[1];
        expect(id && awsIds.has(id), `${mode} ${r.name}: alias to ${lb.name}`).toBe(true);
        expect(lb).toEqual({ name: lb.name, zoneId: NLB_CANONICAL_HOSTED_ZONES[awsIds.get(id!)!], evaluateTargetHealth: true });
        expect(i.type).toBe("A");
        expect(i.ttl).toBeUndefined();
        expect(r.dependencies, `${mode} ${r.name} waits for the load balancer's Service`).toContain(lbNames.get(id!)!.urn);
      }
      expect(aliased, mode).toBeGreaterThan(0);
    }
  }, 120_000);
});

describe("Route 53", () => {
  it("checks every region per signal with the spec's numbers, and combines them in CALCULATED parents", async () => {
    const plan = await planForMode("weighted", {
      providers: { primary: "route53" },
      healthCheck: {
        protocol: "HTTPS",
        port: 443,
        path: "/healthz",
        intervalSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 4,
        signals: [
          { name: "sig-a", path: "/a" },
          { name: "sig-b", path: "/b" },
          { name: "sig-c", path: "/c" },
        ],
      },
    });
    const check = byName(plan, HC, "route53-hc-gcp-usc1-sig-b").inputs;
    expect(check).toMatchObject({
      type: "HTTPS",
      ipAddress: endpoints(plan)["gcp-usc1"],
      port: 443,
      resourcePath: "/b",
      requestInterval: 10,
      failureThreshold: 4,
      enableSni: true,
      regions: ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-1"],
    });
    expect(byName(plan, HC, "route53-hc-gcp-usc1-serving").inputs).toEqual({
      type: "CALCULATED",
      childHealthchecks: ["route53-hc-gcp-usc1-sig-a-id", "route53-hc-gcp-usc1-sig-b-id", "route53-hc-gcp-usc1-sig-c-id"],
      childHealthThreshold: 1,
      tags: expect.any(Object),
    });
    expect(byName(plan, HC, "route53-hc-gcp-usc1-full").inputs["childHealthThreshold"]).toBe(2);
    expect(ofType(plan, HC)).toHaveLength(6 * 3 + 6 * 2);
  });

  it("weighted: splits each region into full and base records so a degraded region keeps weight × factor", async () => {
    const plan = await planForMode("weighted", { weights: { "aws-use1": 200 }, degraded: { failingShare: 0.34, weightFactor: 0.25 }, ttlSeconds: 45 });
    const set = records(plan, "api.meridian.example.com");
    const full = set.find((r) => r.inputs["setIdentifier"] === "aws-use1-full")!.inputs;
    const base = set.find((r) => r.inputs["setIdentifier"] === "aws-use1-base")!.inputs;
    expect(full).toMatchObject({
      type: "A",
      aliases: [{ zoneId: NLB_CANONICAL_HOSTED_ZONES["us-east-1"], evaluateTargetHealth: true }],
      weightedRoutingPolicies: [{ weight: 150 }],
      healthCheckId: "route53-hc-aws-use1-full-id",
    });
    const gcp = set.find((r) => r.inputs["setIdentifier"] === "gcp-usc1-full")!.inputs;
    expect(gcp).toMatchObject({ type: "A", ttl: 45, records: [endpoints(plan)["gcp-usc1"]] });
    expect(base).toMatchObject({ weightedRoutingPolicies: [{ weight: 50 }], healthCheckId: "route53-hc-aws-use1-serving-id" });
    expect(set).toHaveLength(12);
  });

  it("weighted with one signal: one record per region at its healthy weight on the region's only check", async () => {
    const plan = await planForMode("weighted", { healthCheck: { intervalSeconds: 30, timeoutSeconds: 5 }, weights: { "azure-sea": 7 } });
    const sea = records(plan, "api.meridian.example.com").find((r) => r.inputs["setIdentifier"] === "azure-sea")!;
    expect(sea.inputs).toMatchObject({ weightedRoutingPolicies: [{ weight: 7 }], healthCheckId: "route53-hc-azure-sea-serving-id" });
    expect(ofType(plan, HC)).toHaveLength(6);
  });

  it("latency across clouds: geoproximity on each region's coordinates (the model's nearest-region rule)", async () => {
    const plan = await planForMode("latency");
    const set = records(plan, "api.meridian.example.com");
    expect(set).toHaveLength(6);
    expect(set.find((r) => r.inputs["setIdentifier"] === "gcp-asne1")!.inputs).toMatchObject({
      geoproximityRoutingPolicy: { coordinates: [{ latitude: "35.70", longitude: "139.70" }], bias: 0 },
      healthCheckId: "route53-hc-gcp-asne1-serving-id",
      records: [endpoints(plan)["gcp-asne1"]],
    });
    for (const r of set) expect(r.inputs["latencyRoutingPolicies"]).toBeUndefined();
  });

  it("latency on an all-AWS estate: latency records named after each region", async () => {
    const all = readStackConfigMap("prod");
    const regions = (all["meridian:regions"] as { cloud: string }[]).filter((r) => r.cloud === "aws");
    const dns = { ...prodDns(), routing: "latency", providers: { primary: "route53" }, failoverOrder: [] };
    // Other areas name prod's non-AWS regions: point them at AWS ones.
    const replication = { ...(all["meridian:replication"] as object), writers: ["aws-use1"], writeGBPerMonth: { "aws-use1": 1 } };
    const pki = all["meridian:pki"] as { rotation?: object };
    // Prod's proof log witnesses stand one per region, two of them outside AWS: this estate runs the log unwitnessed.
    const runtime = all["meridian:runtime"] as { prooflog: Record<string, unknown> };
    const prooflog = Object.fromEntries(Object.entries(runtime.prooflog).filter(([k]) => k !== "witnesses" && k !== "witnessThreshold"));
    const overrides = {
      "meridian:regions": regions,
      "meridian:dns": dns,
      "meridian:replication": replication,
      "meridian:pki": { ...pki, rotation: { ...pki.rotation, canary: "aws-euw1" } },
      "meridian:runtime": { ...runtime, prooflog },
    };
    const plan = await evaluateStack("prod", { areas: TRAFFIC, configOverrides: overrides });
    const regionOf = Object.fromEntries(records(plan, "api.meridian.example.com").map((r) => [r.inputs["setIdentifier"], (r.inputs["latencyRoutingPolicies"] as { region: string }[])[0]!.region]));
    expect(regionOf).toEqual({ "aws-use1": "us-east-1", "aws-euw1": "eu-west-1" });
  });

  it("geo: geolocation records per continent alias weighted group sets; a default record aliases every region", async () => {
    const plan = await planForMode("geo");
    const top = records(plan, "api.meridian.example.com");
    const eu = top.find((r) => r.inputs["setIdentifier"] === "continent-EU")!.inputs;
    expect(eu).toMatchObject({ geolocationRoutingPolicies: [{ continent: "EU" }], aliases: [{ name: "europe.gslb.api.meridian.example.com", zoneId: "route53-zone-id", evaluateTargetHealth: true }] });
    const af = top.find((r) => r.inputs["setIdentifier"] === "continent-AF")!.inputs;
    expect(af["aliases"]).toEqual([expect.objectContaining({ name: "europe.gslb.api.meridian.example.com" })]);
    const fallback = top.find((r) => r.inputs["setIdentifier"] === "default")!.inputs;
    expect(fallback).toMatchObject({ geolocationRoutingPolicies: [{ country: "*" }], aliases: [expect.objectContaining({ name: "all.gslb.api.meridian.example.com" })] });
    expect(top).toHaveLength(7);
    expect(
      records(plan, "europe.gslb.api.meridian.example.com")
        .map((r) => r.inputs["setIdentifier"])
        .sort(),
    ).toEqual(["aws-euw1-base", "aws-euw1-full", "azure-weu-base", "azure-weu-full"]);
  });

  it("failover: PRIMARY/SECONDARY pairs chained through aliases in failover order", async () => {
    const plan = await planForMode("failover", { failoverOrder: ["gcp-usc1", "aws-use1", "azure-sea"] });
    const bySet = (name: string) => records(plan, name).sort((a, b) => String(a.inputs["setIdentifier"]).localeCompare(String(b.inputs["setIdentifier"])));
    const top = bySet("api.meridian.example.com").reverse();
    expect(top.map((r) => [r.inputs["setIdentifier"], (r.inputs["failoverRoutingPolicies"] as { type: string }[])[0]!.type])).toEqual([
      ["gcp-usc1-primary", "PRIMARY"],
      ["failover-1", "SECONDARY"],
    ]);
    expect(top[0]!.inputs).toMatchObject({ records: [endpoints(plan)["gcp-usc1"]], healthCheckId: "route53-hc-gcp-usc1-serving-id" });
    expect(top[1]!.inputs["aliases"]).toEqual([expect.objectContaining({ name: "failover-1.gslb.api.meridian.example.com", evaluateTargetHealth: true })]);
    // Order: gcp-usc1, aws-use1, azure-sea, then the regions the order leaves out (aws-euw1, gcp-asne1, azure-weu).
    expect(bySet("failover-1.gslb.api.meridian.example.com").map((r) => r.inputs["setIdentifier"])).toEqual(["aws-use1-primary", "failover-2"]);
    const last = bySet("failover-4.gslb.api.meridian.example.com");
    expect(last.map((r) => r.inputs["setIdentifier"])).toEqual(["azure-weu-secondary", "gcp-asne1-primary"]);
    expect(last[0]!.inputs).toMatchObject({ failoverRoutingPolicies: [{ type: "SECONDARY" }], records: [endpoints(plan)["azure-weu"]], healthCheckId: "route53-hc-azure-weu-serving-id" });
    expect(records(plan, "failover-5.gslb.api.meridian.example.com")).toEqual([]);
  });
});
