// `meridian cost`: the offline plan priced, as Infracost JSON, a table and a PR comment against a baseline. Each
// run plans the prod estate, so the file keeps to three runs, in this process (the SDK loads once), and the JSON and
// the table are priced from one plan of the unchanged stack (test/plan-memo.ts); the two argument mistakes run the real bin.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { stackFile } from "../../stacks/load.js";

vi.mock("../../components/preview/plan.js", async (original) => (await import("../plan-memo.js")).memoizePlans(await original()));

const cents = (s: string | undefined) => Math.round(Number(s) * 100);
interface Doc {
  version: string;
  totalMonthlyCost: string;
  summary: { totalDetectedResources: number };
  projects: { breakdown: { resources: { name: string; resourceType: string; monthlyCost: string; costComponents: { monthlyCost: string; priceNotFound: boolean }[] }[] } }[];
}

let dir: string;
let doc: Doc;
const baseline = () => join(dir, "baseline.json");

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-cost-"));
  const r = await runCliInProcess(["cost", "--stack", "prod", "--format", "json"]);
  expect(r.status, r.stderr).toBe(0);
  writeFileSync(baseline(), r.stdout);
  doc = JSON.parse(r.stdout) as Doc;
}, 400_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("meridian cost", () => {
  it("--format json is Infracost's breakdown document over the whole plan, and its totals add up", () => {
    expect(doc.version).toBe("0.2");
    const resources = doc.projects[0]!.breakdown.resources;
    for (const res of resources) expect(cents(res.monthlyCost), res.name).toBe(res.costComponents.reduce((s, c) => s + cents(c.monthlyCost), 0));
    expect(cents(doc.totalMonthlyCost)).toBe(resources.reduce((s, r) => s + cents(r.monthlyCost), 0));
    expect(doc.summary.totalDetectedResources).toBeGreaterThan(600);
    expect(resources.some((r) => r.resourceType === "aws:rds/clusterInstance:ClusterInstance")).toBe(true);
  });

  it("prints a table with the plan's resources, the total, the budget, what is free or not priced, and the topologies", async () => {
    const r = await runCliInProcess(["cost", "--stack", "prod"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/replication\/aws-use1->gcp-usc1 {2}\(meridian:replication:Link\)\s+\$585\.00/);
    expect(r.stdout).toMatch(/meridian-prod-aws-use1-1 {2}\(aws:rds\/clusterInstance:ClusterInstance\)\s+\$189\.80/);
    expect(r.stdout).toMatch(/OVERALL TOTAL\s+\$[\d,]+\.\d\d\s+\(usage-based\* \$[\d,]+\.\d\d; budget \$25,000\.00\)/);
    // 60 releases, less the six east-west gateways', whose load balancers are priced.
    expect(r.stdout).toMatch(/Not priced: 54 kubernetes:helm\.sh\/v3:Release resources are not priced/);
    // Cross-region calls through the east-west gateways, priced as egress (meridian:runtime.eastWestGBPerMonth).
    expect(r.stdout).toMatch(/east-west\/gcp-asne1->aws-euw1 {2}\(meridian:mesh:EastWestTraffic\)\s+\$0\.12/);
    expect(r.stdout).toMatch(/gcp-usc1-istio-eastwestgateway {2}\(kubernetes:helm\.sh\/v3:Release\)\s+\$29\.20/);
    expect(r.stdout).toMatch(/hierarchical\s+\$[\d,.]+\s+← this stack/);
    expect(r.stdout).toMatch(/Read-replica placement: azure-sea for \$1,475\.00\/month;\n {2}coverage 100\.0% within SLA/);
  }, 300_000);

  it("--baseline --format github-comment: one writer's extra volume changes exactly the links that carry it", async () => {
    const stacks = mkdtempSync(join(dir, "stacks-"));
    writeFileSync(join(stacks, "Pulumi.prod.yaml"), readFileSync(stackFile("prod"), "utf8").replace("aws-euw1: 3500", "aws-euw1: 4500"));
    const r = await runCliInProcess(["cost", "--stack", "prod", "--baseline", baseline(), "--format", "github-comment"], { env: { MERIDIAN_STACKS_DIR: stacks } });
    expect(r.status, r.stderr).toBe(0);
    // +1,000 GB of aws-euw1's writes at each carrying link's list price, less the cheaper tiers on two meters (its data leaves
    // aws-euw1 itself for other clouds: aws-use1 holds it as a read-only Aurora secondary).
    expect(r.stdout).toMatch(/^<h4>💰 Meridian cost report<\/h4>\n<h4>Monthly estimate increased by \$355\.00 📈<\/h4>/);
    expect(r.stdout).toMatch(/\| prod \(prod\) \| \+\$0\.00 \| \+\$355\.00 \| \+\$355\.00 \(\+\d+%\) \| \$[\d,]+\.\d\d \|/);
    const changed = [...r.stdout.matchAll(/^~ (\S+)\n {2}([+-]\$[\d,.]+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(changed.sort()).toEqual(
      [
        "replication/aws-euw1->aws-use1 +$20.00",
        "replication/aws-euw1->azure-weu +$90.00",
        "replication/aws-euw1->gcp-asne1 +$90.00",
        "replication/aws-euw1->gcp-usc1 +$90.00",
        "replication/gcp-asne1->azure-sea +$120.00",
        "egress-discounts/aws-euw1 -$15.00",
        "egress-discounts/gcp-asne1 -$40.00",
      ].sort(),
    );
  }, 300_000);

  it("a baseline that is not a cost report is named, exit 2, before any planning", () => {
    const file = join(dir, "wrong.json");
    writeFileSync(file, JSON.stringify({ totalMonthlyCost: 12 }));
    const r = runCli(["cost", "--stack", "prod", "--baseline", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/wrong\.json: not an Infracost\/meridian cost JSON \(totalMonthlyCost: /);
  });

  it("an unknown --format is named", () => {
    const r = runCli(["cost", "--stack", "prod", "--format", "xml"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--format "xml": expected one of table, json, github-comment/);
  });
});
