import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli.js";
import { stackFile } from "../../stacks/load.js";

const cents = (s: string) => Math.round(Number(s) * 100);

describe("meridian cost", () => {
  it("--json is Infracost-shaped and its totals equal the sum of its components", () => {
    const r = runCli(["cost", "--stack", "prod", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & { resources: { monthlyCost: string; costComponents: Record<string, unknown>[] }[] };
    for (const key of ["totalMonthlyCost", "pastTotalMonthlyCost", "diffTotalMonthlyCost"]) expect(typeof doc[key], key).toBe("string");
    let sum = 0;
    for (const res of doc.resources) {
      let parts = 0;
      for (const c of res.costComponents) {
        for (const key of ["name", "unit", "monthlyQuantity", "price", "monthlyCost", "usageBased"]) expect(c, key).toHaveProperty(key);
        for (const key of ["monthlyQuantity", "price", "monthlyCost"]) expect(typeof c[key]).toBe("string");
        parts += cents(c["monthlyCost"] as string);
      }
      expect(cents(res.monthlyCost)).toBe(parts);
      sum += parts;
    }
    expect(cents(doc["totalMonthlyCost"] as string)).toBe(sum);
  });

  it("prints a table with the total, the budget and the topology comparison", () => {
    const r = runCli(["cost", "--stack", "prod"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/replication\/aws-use1->gcp-usc1\s+\$900\.00/);
    expect(r.stdout).toMatch(/OVERALL TOTAL\s+\$[\d,]+\.\d\d\s+\(budget \$25,000\.00\)/);
    expect(r.stdout).toMatch(/hierarchical\s+\$[\d,.]+\s+← this stack/);
    // prod's placement block: only Singapore needs a replica beyond the writers (azure-sea, $975 egress + $500).
    expect(r.stdout).toMatch(/Read-replica placement: azure-sea for \$1,475\.00\/month;\n {2}coverage 100\.0% within SLA/);
  });

  it("--baseline diffs against an earlier JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-cost-"));
    try {
      const before = runCli(["cost", "--stack", "prod", "--json"]);
      const doc = JSON.parse(before.stdout) as { totalMonthlyCost: string; resources: { name: string; monthlyCost: string }[] };
      // Pretend last month one link cost $100 less and the total too.
      doc.resources[0]!.monthlyCost = (Number(doc.resources[0]!.monthlyCost) - 100).toFixed(2);
      doc.totalMonthlyCost = (Number(doc.totalMonthlyCost) - 100).toFixed(2);
      const file = join(dir, "baseline.json");
      writeFileSync(file, JSON.stringify(doc));
      const r = runCli(["cost", "--stack", "prod", "--json", "--baseline", file]);
      expect(r.status, r.stderr).toBe(0);
      const after = JSON.parse(r.stdout) as { diffTotalMonthlyCost: string; pastTotalMonthlyCost: string; projects: { diff: { resources: { name: string; monthlyCost: string }[] } }[] };
      expect(after.diffTotalMonthlyCost).toBe("100.00");
      expect(after.projects[0]!.diff.resources).toEqual([expect.objectContaining({ name: doc.resources[0]!.name, monthlyCost: "100.00" })]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("changing one writer's volume in the stack changes exactly the links that carry it (and their meters)", () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-cost-"));
    try {
      const baseline = join(dir, "baseline.json");
      writeFileSync(baseline, runCli(["cost", "--stack", "prod", "--json"]).stdout);
      const stack = join(dir, "Pulumi.prod.yaml");
      writeFileSync(stack, readFileSync(stackFile("prod"), "utf8").replace("aws-euw1: 3500", "aws-euw1: 4500"));
      const r = runCli(["cost", "--stack", "prod", "--json", "--baseline", baseline], { env: { MERIDIAN_STACKS_DIR: dir } });
      expect(r.status, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { projects: { diff: { resources: { name: string; monthlyCost: string }[] } }[] };
      const changed = Object.fromEntries(doc.projects[0]!.diff.resources.map((x) => [x.name, x.monthlyCost]));
      // aws-euw1's data (hierarchical): euw1→azure-weu, euw1→aws-use1, euw1→gcp-asne1, then relays
      // use1→gcp-usc1 and asne1→azure-sea; +1,000 GB at each link's list price.
      expect(changed).toEqual({
        "replication/aws-euw1->aws-use1": "20.00",
        "replication/aws-euw1->azure-weu": "90.00",
        "replication/aws-euw1->gcp-asne1": "90.00",
        "replication/aws-use1->gcp-usc1": "90.00",
        "replication/gcp-asne1->azure-sea": "120.00",
        // the extra 2,000 GB on euw1's meter and 1,000 GB on each relay's meter fall in their cheaper tiers
        "egress-discounts/aws-euw1": "-10.00",
        "egress-discounts/aws-use1": "-5.00",
        "egress-discounts/gcp-asne1": "-40.00",
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("a baseline that is not a cost report is named, exit 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-cost-"));
    try {
      const file = join(dir, "wrong.json");
      writeFileSync(file, JSON.stringify({ totalMonthlyCost: 12 }));
      const r = runCli(["cost", "--stack", "prod", "--baseline", file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/wrong\.json: not a cost report JSON \(totalMonthlyCost: /);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
