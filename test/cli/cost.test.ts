import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../cli.js";

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
