// The real CrossGuard pack, started as the Pulumi engine starts it (run-policy-pack, PULUMI_* env, no
// loader flags) and driven over the Analyzer protocol from Pulumi's published protos, with the prod
// plan's resources as preview sends them (unknowns as the engine's sentinel).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { RecordedResource } from "../../components/preview/mock-runtime.js";
import { planStack, type Plan } from "../../components/preview/plan.js";
import { buildPolicyPack, POLICIES_DIR } from "../../policies/build.js";
import { readStackConfigMap } from "../../stacks/load.js";
import { Engine, UNKNOWN_STRING, type AnalyzeResponse } from "./engine.js";

const POLICY_NAMES = [
  "meridian-certificate-bounds",
  "meridian-cost-table",
  "meridian-egress-topology",
  "meridian-failover-ttl",
  "meridian-full-mesh-premium",
  "meridian-health-check-sanity",
  "meridian-images-by-digest",
  "meridian-mesh-egress-placeholder",
  "meridian-mtls-mesh-wide",
  "meridian-mtls-strict",
  "meridian-nil-uuid-placeholder",
  "meridian-no-public-databases",
  "meridian-resource-cost-limit",
  "meridian-runtime-image-digest",
  "meridian-runtime-image-placeholder",
  "meridian-spire-plugin-checksum",
  "meridian-stack-budget",
];

let engine: Engine;
let prod: Plan;
let overBudget: RecordedResource[];

/** The stack's config as the engine hands it to a policy pack: every key as a string. */
function engineConfig(stack: string): Record<string, string> {
  return Object.fromEntries(Object.entries(readStackConfigMap(stack)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

const mandatory = (r: AnalyzeResponse) => r.diagnostics.filter((d) => d.enforcementLevel === "MANDATORY");

beforeAll(async () => {
  // The pack builds and boots in its own process while this one plans prod: neither needs the other.
  const started = buildPolicyPack().then(() => Engine.start({ packDir: POLICIES_DIR, project: "meridian", stack: "prod", config: engineConfig("prod") }));
  try {
    prod = await planStack("prod");
  } finally {
    engine = await started; // for afterAll to stop, whether or not the plan was made
  }
  // prod pushed over budget: the stack's budget reaches the pack in the estate ConfigMap (estate.json), the
  // only input a lower `meridian:budget.monthlyUSD` changes in the plan.
  overBudget = prod.resources.map((r) => {
    const data = r.type === "kubernetes:core/v1:ConfigMap" ? (r.inputs["data"] as Record<string, string> | undefined) : undefined;
    if (!data?.["estate.json"]) return r;
    const estate = JSON.parse(data["estate.json"]) as { budget: { monthlyUSD: number } };
    return { ...r, inputs: { ...r.inputs, data: { ...data, "estate.json": JSON.stringify({ ...estate, budget: { ...estate.budget, monthlyUSD: 5000 } }) } } };
  });
}, 300_000);

afterAll(async () => {
  await engine?.close();
});

describe("the policy pack under the engine's launcher and the Analyzer protocol", () => {
  it("boots: Handshake (or UNIMPLEMENTED, which the engine tolerates) and ConfigureStack", async () => {
    const { handshake } = await engine.boot();
    expect(["ok", "unimplemented"]).toContain(handshake);
  });

  it("GetAnalyzerInfo lists every rule as a policy; GetPluginInfo names a version", async () => {
    const info = await engine.call<{ name: string; supportsConfig: boolean; policies: { name: string; enforcementLevel: string }[] }>("GetAnalyzerInfo", {});
    expect(info.name).toBe("meridian");
    expect(info.supportsConfig).toBe(true);
    expect(info.policies.map((p) => p.name).sort()).toEqual(POLICY_NAMES);
    const plugin = await engine.call<{ version: string }>("GetPluginInfo", {});
    expect(plugin.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("Configure takes the shipped prod policy config", async () => {
    const file = JSON.parse(readFileSync(new URL("../../policies/config.prod.json", import.meta.url), "utf8")) as Record<string, Record<string, unknown>>;
    await engine.configure(Object.fromEntries(Object.entries(file).map(([name, properties]) => [name, { properties }])));
  });

  it("the plan carries unknowns, sent as the engine's sentinel", () => {
    const text = JSON.stringify(prod.resources.map((r) => r.inputs));
    expect(text).toContain('"(computed)"');
    expect(JSON.stringify({ s: UNKNOWN_STRING })).toContain("04da6b54-80e4-46f7-96ec-b56ff0331ba9");
  });

  it("Analyze per resource: prod has no mandatory violation and no rule gives up on an unknown", async () => {
    // Several resources in flight at once, as the engine's step executor sends them (a round trip each in turn
    // spent most of this test waiting); the responses are read in the plan's order.
    const responses: AnalyzeResponse[] = [];
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < prod.resources.length; i = next++) responses[i] = await engine.analyze(prod.resources[i]!);
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    const problems = prod.resources.flatMap((r, i) => responses[i]!.diagnostics.map((d) => `${d.enforcementLevel} ${d.policyName} ${r.type} ${r.name}: ${d.message}`));
    expect(responses).toHaveLength(prod.resources.length);
    expect(problems).toEqual([]);
  });

  it("Analyze decides failover TTLs in preview although healthCheckId is unknown", async () => {
    const record = prod.resources.find((r) => r.type === "aws:route53/record:Record" && r.inputs["healthCheckId"] !== undefined)!;
    expect(record.inputs["healthCheckId"]).toBe("(computed)");
    const res = await engine.analyze({ ...record, inputs: { ...record.inputs, ttl: 300 } });
    expect(res.diagnostics.map((d) => [d.policyName, d.enforcementLevel])).toEqual([["meridian-failover-ttl", "MANDATORY"]]);
    expect(res.diagnostics[0]!.message).toMatch(/ttl 300s exceeds the failover limit of 60s/);
  });

  it("AnalyzeStack on prod: only the shipped placeholder image digests, egress addresses and Azure IDs are refused (every image is otherwise by digest); the advisory cost table", async () => {
    const res = await engine.analyzeStack(prod.resources);
    expect(mandatory(res).map((d) => d.policyName)).toEqual([
      "meridian-runtime-image-placeholder",
      "meridian-runtime-image-placeholder",
      "meridian-mesh-egress-placeholder",
      "meridian-nil-uuid-placeholder",
    ]);
    expect(mandatory(res)[0]!.message).toMatch(/meridian:runtime\.image is the placeholder "ghcr\.io\/meridian\/runtime@sha256:0{64}"/);
    expect(mandatory(res)[1]!.message).toMatch(/\nmeridian:imageDigests has the all-zero placeholder for \d+ images: .*ghcr\.io\/spiffe\/spire-server:1\.13\.0/);
    expect(res.diagnostics.map((d) => d.policyName)).toContain("meridian-cost-table");
    expect(res.diagnostics.find((d) => d.policyName === "meridian-cost-table")!.message).toMatch(/\nmonthly cost estimate \$[\d,]+\.\d\d of \$25,000\.00 budget:/);
  });

  it("AnalyzeStack on prod pushed over budget: a mandatory budget violation", async () => {
    const res = await engine.analyzeStack(overBudget);
    expect(mandatory(res).map((d) => d.policyName)).toEqual([
      "meridian-stack-budget",
      "meridian-runtime-image-placeholder",
      "meridian-runtime-image-placeholder",
      "meridian-mesh-egress-placeholder",
      "meridian-nil-uuid-placeholder",
    ]);
    expect(mandatory(res)[0]!.message).toMatch(/\nmonthly estimate \$[\d,]+\.\d\d exceeds the prod budget of \$5,000\.00/);
  });

  it("a stack without the estate ConfigMap: the cost rules are not applicable", async () => {
    const ns = prod.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
    const res = await engine.analyzeStack([ns]);
    expect(res.diagnostics).toEqual([]);
    expect(res.not_applicable.map((n) => n.policy_name)).toEqual(expect.arrayContaining(["meridian-stack-budget", "meridian-egress-topology", "meridian-cost-table"]));
  });
});
