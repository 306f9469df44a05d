/**
 * Rendering the cost report: Infracost-shaped JSON as is, or a table of resources and their cost
 * components with the total, the budget, the baseline diff and what each topology would cost instead.
 * Reading a baseline validates it (zod) so a wrong file is named, not crashed on.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { TopologyCost } from "../../model/cost/egress.js";
import { formatUSD } from "../../model/cost/money.js";
import type { Baseline, CostReport } from "../../model/cost/report.js";
import type { Placement } from "../../model/placement/greedy.js";
import { UserError } from "../errors.js";

const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, "expected a decimal string such as \"12.34\"");
const baselineSchema = z.object({
  totalMonthlyCost: decimalString,
  resources: z
    .array(z.object({ name: z.string(), monthlyCost: decimalString.nullable().transform((v) => v ?? "0") }).loose())
    .optional(),
  projects: z
    .array(z.object({ breakdown: z.object({ resources: z.array(z.object({ name: z.string(), monthlyCost: decimalString.nullable().transform((v) => v ?? "0") }).loose()) }).loose() }).loose())
    .optional(),
});

/** Read an earlier report: ours (top-level `resources`) or Infracost's own (`projects[].breakdown.resources`). */
export function readBaseline(file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UserError(`--baseline ${file}: ${(err as Error).message}`);
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new UserError(`--baseline ${file}: not a cost report JSON (${issues})`);
  }
  const doc = parsed.data;
  const resources = doc.resources ?? doc.projects?.flatMap((p) => p.breakdown.resources) ?? [];
  return { totalMonthlyCost: doc.totalMonthlyCost, resources };
}

export function renderCostJson(report: CostReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const money = (s: string) => formatUSD(Math.round(Number(s) * 100));

export function renderCostTable(report: CostReport, alternatives: TopologyCost[], budgetUSD: number, placement: Placement | null = null): string {
  const rows: string[][] = [["Name", "Monthly qty", "Unit", "Price", "Monthly cost"]];
  for (const r of report.resources) {
    rows.push([r.name, "", "", "", money(r.monthlyCost)]);
    for (const c of r.costComponents) rows.push([`  ${c.name}`, c.monthlyQuantity, c.unit, c.price, money(c.monthlyCost)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  const out = [`Cost estimate for stack ${report.metadata.stack} (${report.metadata.topology} replication), USD per month`, "", line(rows[0]!)];
  out.push(widths.map((w) => "─".repeat(w)).join("  "));
  for (const row of rows.slice(1)) out.push(line(row));
  out.push("", `OVERALL TOTAL  ${money(report.totalMonthlyCost)}   (budget ${formatUSD(Math.round(budgetUSD * 100))})`);
  if (report.projects[0]?.pastBreakdown) {
    out.push(`Baseline       ${money(report.pastTotalMonthlyCost)}`, `Change         ${money(report.diffTotalMonthlyCost)}`);
    for (const r of report.projects[0].diff?.resources ?? []) out.push(`  ${String(r.metadata["change"]).padEnd(8)} ${r.name}  ${money(r.monthlyCost)}`);
  }
  const noPrice = Object.entries(report.summary.noPriceResourceCounts).map(([t, n]) => `${n}× ${t}`);
  if (noPrice.length) out.push("", `Not priced (no price in the table): ${noPrice.join(", ")}`);
  out.push("", "Replication egress by topology (same writers and volumes):");
  for (const t of alternatives) out.push(`  ${t.topology.padEnd(13)} ${formatUSD(t.monthlyCents).padStart(12)}${t.topology === report.metadata.topology ? "  ← this stack" : ""}`);
  if (placement) {
    out.push("", `Read-replica placement: ${placement.replicas.join(", ") || "none beyond the writers"} for ${formatUSD(Math.round(placement.monthlyUSD * 100))}/month;`);
    out.push(`  coverage ${(placement.coverage * 100).toFixed(1)}% within SLA, p50 ${placement.p50Ms.toFixed(1)} ms, p95 ${placement.p95Ms.toFixed(1)} ms`);
    for (const a of placement.assignments) out.push(`  ${a.demand.padEnd(14)} → ${a.region.padEnd(12)} ${a.rttMs.toFixed(1).padStart(7)} ms${a.withinSla ? "" : "  (outside SLA)"}`);
  }
  return `${out.join("\n")}\n`;
}
