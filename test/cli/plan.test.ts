import { afterAll, describe, expect, it, vi } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, type CliResult } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { stackFile } from "../../stacks/load.js";

/**
 * The plans run in this process (the Pulumi SDK and the providers load once for the file); an unknown stack runs
 * the real bin. `plan --stack prod --json --graph FILE` runs once for the tests below that read the prod plan, and
 * the text plan with the policy pack is printed from the same evaluation of the unchanged stack (test/plan-memo.ts).
 */
vi.mock("../../components/preview/plan.js", async (original) => (await import("../plan-memo.js")).memoizePlans(await original()));

let prod: Promise<CliResult & { graph: string }> | undefined;
let graphDir: string | undefined;
function prodRun(): Promise<CliResult & { graph: string }> {
  prod ??= (async () => {
    graphDir = mkdtempSync(join(tmpdir(), "meridian-graph-"));
    const graph = join(graphDir, "prod.svg");
    return { ...(await runCliInProcess(["plan", "--stack", "prod", "--json", "--graph", graph, "--allow-placeholders"])), graph };
  })();
  return prod;
}
afterAll(() => {
  if (graphDir) rmSync(graphDir, { recursive: true, force: true });
});

describe("meridian plan", () => {
  it("prints the local plan as a tree with counts and outputs", async () => {
    const r = await runCliInProcess(["plan", "--stack", "local"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Plan for stack local: \d+ resources/);
    expect(r.stdout).toMatch(/meridian:index:RegionCluster local-aws .*kubernetes:core\/v1:Namespace/);
    expect(r.stdout).toMatch(/Outputs:/);
  });

  it("--json prints the documented document", async () => {
    const r = await prodRun();
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { stack: string; resources: Record<string, unknown>[]; outputs: Record<string, unknown> };
    expect(doc.stack).toBe("prod");
    expect(doc.resources.length).toBeGreaterThan(0);
    for (const res of doc.resources) expect(Object.keys(res).sort()).toEqual(["dependencies", "inputs", "name", "parent", "provider", "type", "urn"]);
    expect(doc.outputs["regions"]).toHaveLength(6);
  }, 240_000);

  it("--allow-placeholders reports the shipped all-zero image digests and documentation egress addresses and nil-UUID Azure IDs as advisory; without it the plan exits 1 naming the settings (dev: no Azure region, so only the image and egress placeholders)", async () => {
    const doc = JSON.parse((await prodRun()).stdout) as { policyViolations: { policy: string; enforcementLevel: string; message: string }[] };
    expect(doc.policyViolations.filter((v) => v.policy === "meridian-runtime-image-placeholder").map((v) => v.enforcementLevel)).toEqual(["advisory", "advisory"]);
    expect(doc.policyViolations.filter((v) => v.policy === "meridian-mesh-egress-placeholder").map((v) => v.enforcementLevel)).toEqual(["advisory"]);
    expect(doc.policyViolations.filter((v) => v.policy === "meridian-nil-uuid-placeholder").map((v) => v.enforcementLevel)).toEqual(["advisory"]);
    const r = await runCliInProcess(["plan", "--stack", "dev"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\n {2}meridian-mesh-egress-placeholder: 2 mesh egress addresses are RFC 5737 documentation addresses .*meridian:regions\[0\]\.mesh\.egress \(\S+\): 192\.0\.2\.11\/32/);
    expect(r.stderr).toMatch(
      /3 mandatory policy violations\n {2}meridian-runtime-image-placeholder: meridian:runtime\.image is the placeholder "ghcr\.io\/meridian\/runtime@sha256:0{64}": .*set the stack setting meridian:runtime\.image to <repository>@sha256:/,
    );
    expect(r.stderr).toMatch(/\n {2}meridian-runtime-image-placeholder: meridian:imageDigests has the all-zero placeholder for \d+ images: .*`crane digest <key>`/);
  }, 240_000);

  it("an unknown stack exits non-zero naming the stacks that exist", () => {
    const r = runCli(["plan", "--stack", "qa"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no such stack; expected one of dev, local, prod, staging/);
  });

  it("a broken stack file exits non-zero listing every mistake", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-stacks-"));
    const file = join(dir, "Pulumi.prod.yaml");
    copyFileSync(stackFile("prod"), file);
    try {
      const text = readFileSync(file, "utf8").replace("cloud: gcp", "cloud: ibm").replace("ttlSeconds: 60", "ttlSeconds: 0").replace("monthlyUSD: 25000", "monthlyUSD: lots");
      writeFileSync(file, text);
      const r = await runCliInProcess(["plan", "--stack", "prod"], { env: { MERIDIAN_STACKS_DIR: dir } });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/Pulumi\.prod\.yaml: 3 config problems/);
      expect(r.stderr).toMatch(/meridian:regions\[2\]\.cloud: got "ibm"/);
      expect(r.stderr).toMatch(/meridian:dns\.ttlSeconds: got 0/);
      expect(r.stderr).toMatch(/meridian:budget\.monthlyUSD: got "lots"/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

// The pack's cost and safety rules over the shipped prod stack; test/cli/cost-policy.test.ts has the stacks it refuses.
describe("meridian plan runs the policy pack", () => {
  it("passes prod (advisory cost table only); test/policies/stacks.test.ts covers every shipped stack", async () => {
    const r = await runCliInProcess(["plan", "--stack", "prod", "--allow-placeholders"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[advisory\] meridian-cost-table {2}stack prod\n {6}monthly cost estimate \$1\d,\d{3}\.\d\d of \$25,000\.00 budget:/);
    expect(r.stdout).not.toMatch(/\[mandatory\]/);
  }, 300_000);
});

describe("meridian plan: provider rules", () => {
  it("a stack the providers would refuse exits 1 with the provider's message and the rule's source", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-stacks-"));
    const file = join(dir, "Pulumi.staging.yaml");
    try {
      const text = readFileSync(stackFile("staging"), "utf8").replace(
        "    writeGBPerMonth: { aws-use1: 300 }\n",
        "    writeGBPerMonth: { aws-use1: 300 }\n    databases: { gcp: { edition: ENTERPRISE_PLUS } }\n",
      );
      writeFileSync(file, text);
      const r = await runCliInProcess(["plan", "--stack", "staging", "--json"], { env: { MERIDIAN_STACKS_DIR: dir } });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^meridian: the providers would refuse stack staging: 1 problem\n/);
      expect(r.stderr).toContain("Invalid Tier (db-custom-4-16384) for (ENTERPRISE_PLUS) Edition.");
      expect(r.stderr).toContain("rule gcp-sql-edition-tier: https://cloud.google.com/sql/docs/postgres/create-instance#machine-types");
    } finally {
      rmSync(dir, { recursive: true });
    }
  }, 240_000);

  it("docs/provider-rules.md lists every rule the plan enforces", async () => {
    const { PROVIDER_RULES } = await import("../../components/preview/rules/index.js");
    const doc = readFileSync(new URL("../../docs/provider-rules.md", import.meta.url), "utf8");
    const listed = [...doc.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(PROVIDER_RULES.map((r) => r.id));
  });
});

describe("meridian plan --graph", () => {
  it("writes the topology SVG for any stack", async () => {
    const r = await prodRun();
    expect(r.status).toBe(0);
    const svg = readFileSync(r.graph, "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const id of ["aws-use1", "aws-euw1", "gcp-usc1", "gcp-asne1", "azure-weu", "azure-sea"]) expect(svg).toContain(`data-region="${id}"`);
    expect(svg).toMatch(/route53<\/text><text[^>]*>primary DNS/);
    expect(svg.match(/tier-1 writer/g)).toHaveLength(3);
    // Replication links as the cost model computes them, with their monthly volume.
    expect(svg).toMatch(/<title>aws-use1 → aws-euw1: 4,000 GB\/month<\/title>/);
  }, 240_000);
});

// The traffic area's own tests (test/components/dns) evaluate it in-process; this is what the CLI prints.
describe("meridian plan --json: the DNS hierarchy", () => {
  it("meridian plan --stack prod --json has every provider's checks, routed records, profiles and load balancer", async () => {
    const r = await prodRun();
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { resources: { type: string; inputs: Record<string, unknown> }[] };
    const count = (type: string) => doc.resources.filter((x) => x.type === type).length;
    expect(count("aws:route53/healthCheck:HealthCheck")).toBe(30);
    expect(doc.resources.filter((x) => x.type === "aws:route53/record:Record" && x.inputs["geolocationRoutingPolicies"])).toHaveLength(7);
    expect(doc.resources.filter((x) => x.type === "aws:route53/record:Record" && x.inputs["weightedRoutingPolicies"])).toHaveLength(24);
    expect(doc.resources.filter((x) => x.type === "gcp:dns/recordSet:RecordSet" && x.inputs["routingPolicy"])).toHaveLength(1);
    expect(count("gcp:compute/healthCheck:HealthCheck")).toBe(1);
    expect(count("azure-native:trafficmanager:Profile")).toBe(32);
    // geo 4 + chains 6 + groups 12 + all 12 + aggregators 18 + per-signal 18
    expect(count("azure-native:trafficmanager:Endpoint")).toBe(70);
    expect(count("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")).toBe(1);
    expect(count("cloudflare:index/loadBalancerPool:LoadBalancerPool")).toBe(4); // europe, north-america, asia, all
    expect(count("cloudflare:index/loadBalancer:LoadBalancer")).toBe(1);
    // The spec's numbers, everywhere: interval 30 s, threshold 3, TTL 60 s.
    const hc = doc.resources.find((x) => x.type === "aws:route53/healthCheck:HealthCheck" && x.inputs["type"] === "HTTPS")!.inputs;
    expect(hc).toMatchObject({ requestInterval: 30, failureThreshold: 3 });
    expect(doc.resources.find((x) => x.type === "gcp:compute/healthCheck:HealthCheck")!.inputs).toMatchObject({ checkIntervalSec: 30, unhealthyThreshold: 3 });
    expect(doc.resources.find((x) => x.type === "azure-native:trafficmanager:Profile")!.inputs).toMatchObject({
      monitorConfig: { intervalInSeconds: 30, toleratedNumberOfFailures: 2 },
      dnsConfig: { ttl: 60 },
    });
    expect(doc.resources.find((x) => x.type === "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")!.inputs).toMatchObject({ interval: 30, consecutiveDown: 3 });
    expect(doc.resources.find((x) => x.type === "cloudflare:index/loadBalancer:LoadBalancer")!.inputs).toMatchObject({ ttl: 60 });
  }, 240_000);
});
