/**
 * Rendering the cost report: Infracost's JSON as is, a table of resources and their cost components
 * (with what is free, what is not priced, and what each topology would cost), or the pull-request
 * comment (`--format github-comment`) with the change against a baseline. Reading a baseline validates
 * it (zod) so a wrong file is named, not crashed on.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { TopologyCost } from "../../model/cost/egress.js";
import { formatUSD } from "../../model/cost/money.js";
import { reportResources, type Baseline, type CostReport } from "../../model/cost/report.js";
import type { Placement } from "../../model/placement/greedy.js";
import { UserError } from "../errors.js";

const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "12.34"');
const baselineResource = z
  .object({
    name: z.string(),
    resourceType: z.string().optional(),
    monthlyCost: decimalString
      .nullable()
      .optional()
      .transform((v) => v ?? "0"),
    monthlyUsageCost: decimalString
      .nullable()
      .optional()
      .transform((v) => v ?? "0"),
  })
  .loose();
const baselineSchema = z.object({
  totalMonthlyCost: decimalString,
  projects: z.array(z.object({ breakdown: z.object({ resources: z.array(baselineResource) }).loose() }).loose()),
});

/** Read an earlier report: `meridian cost --format json` or Infracost's own `breakdown --format json`. */
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
    throw new UserError(`--baseline ${file}: not an Infracost/meridian cost JSON (${issues})`);
  }
  return { totalMonthlyCost: parsed.data.totalMonthlyCost, resources: parsed.data.projects.flatMap((p) => p.breakdown.resources) };
}

export function renderCostJson(report: CostReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const money = (s: string | undefined) => formatUSD(Math.round(Number(s ?? "0") * 100));
const signed = (s: string | undefined) => `${Number(s ?? "0") >= 0 ? "+" : ""}${money(s)}`;

export function renderCostTable(report: CostReport, alternatives: TopologyCost[], topology: string, budgetUSD: number, placement: Placement | null = null): string {
  const project = report.projects[0]!;
  const rows: string[][] = [["Name", "Monthly qty", "Unit", "Price", "Monthly cost"]];
  for (const r of reportResources(report)) {
    rows.push([`${r.name}  (${r.resourceType})`, "", "", "", money(r.monthlyCost)]);
    for (const c of r.costComponents ?? [])
      rows.push([`  ${c.name}${c.usageBased ? " *" : ""}${c.priceNotFound ? " (price not found)" : ""}`, c.monthlyQuantity, c.unit, c.price, money(c.monthlyCost)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  const out = [`Cost estimate for ${project.displayName} (${topology} replication), USD per month`, "", line(rows[0]!)];
  out.push(widths.map((w) => "─".repeat(w)).join("  "));
  for (const row of rows.slice(1)) out.push(line(row));
  out.push("", `OVERALL TOTAL  ${money(report.totalMonthlyCost)}   (usage-based* ${money(report.totalMonthlyUsageCost)}; budget ${formatUSD(Math.round(budgetUSD * 100))})`);
  if (Number(report.pastTotalMonthlyCost) !== 0 || project.pastBreakdown.resources.length) {
    out.push(`Baseline       ${money(report.pastTotalMonthlyCost)}`, `Change         ${signed(report.diffTotalMonthlyCost)}`);
    for (const r of project.diff.resources) out.push(`  ${String(r.metadata["change"]).padEnd(8)} ${r.name}  ${signed(r.monthlyCost)}`);
  }
  const s = report.summary;
  out.push(
    "",
    `${s.totalDetectedResources} cloud resources in the plan: ${s.totalSupportedResources - s.totalNoPriceResources} priced, ${s.totalNoPriceResources} free, ${s.totalUnsupportedResources} not priced.`,
  );
  const free = Object.entries(s.noPriceResourceCounts).map(([t, n]) => `${n}× ${t}`);
  if (free.length) out.push(`Free: ${free.join(", ")}`);
  for (const w of project.metadata.warnings ?? []) out.push(`Not priced: ${w.message}: ${((w.data as { resources: string[] }).resources ?? []).join(", ")}`);
  out.push("", "Replication egress by topology (same writers and volumes):");
  for (const t of alternatives) out.push(`  ${t.topology.padEnd(13)} ${formatUSD(t.monthlyCents).padStart(12)}${t.topology === topology ? "  ← this stack" : ""}`);
  if (placement) {
    out.push("", `Read-replica placement: ${placement.replicas.join(", ") || "none beyond the writers"} for ${formatUSD(Math.round(placement.monthlyUSD * 100))}/month;`);
    out.push(`  coverage ${(placement.coverage * 100).toFixed(1)}% within SLA, p50 ${placement.p50Ms.toFixed(1)} ms, p95 ${placement.p95Ms.toFixed(1)} ms`);
    for (const a of placement.assignments) out.push(`  ${a.demand.padEnd(14)} → ${a.region.padEnd(12)} ${a.rttMs.toFixed(1).padStart(7)} ms${a.withinSla ? "" : "  (outside SLA)"}`);
  }
  return `${out.join("\n")}\n`;
}

/**
 * The pull-request comment, in the shape of `infracost comment github`: the headline change, one row
 * per project (baseline cost, usage cost, total change, new monthly cost), and the changed resources
 * with their components in a collapsible block.
 */
export function renderGithubComment(report: CostReport): string {
  const p = report.projects[0]!;
  const now = Number(report.totalMonthlyCost);
  const diff = Number(report.diffTotalMonthlyCost);
  const past = Number(report.pastTotalMonthlyCost);
  const usageDiff = Number(report.diffTotalMonthlyUsageCost);
  const pct = past > 0 ? ` (${diff >= 0 ? "+" : ""}${((diff / past) * 100).toFixed(0)}%)` : "";
  const headline = diff === 0 ? "Monthly estimate generated" : `Monthly estimate ${diff > 0 ? "increased" : "decreased"} by ${money(String(Math.abs(diff)))} ${diff > 0 ? "📈" : "📉"}`;
  const lines = [
    "<h4>💰 Meridian cost report</h4>",
    `<h4>${headline}</h4>`,
    "",
    "| Changed project | Baseline cost | Usage cost* | Total change | New monthly cost |",
    "| --- | ---: | ---: | ---: | ---: |",
    `| ${p.displayName} | ${signed(String(diff - usageDiff))} | ${signed(String(usageDiff))} | ${signed(String(diff))}${pct} | ${money(String(now))} |`,
    "",
    "*Usage costs are estimated from the stack's usage settings (DNS queries, replication write volume, east-west traffic between regions).",
    "",
    "<details>",
    "<summary>Estimate details</summary>",
    "",
    "```",
    "Key: * usage cost, ~ changed, + added, - removed",
    "",
    `Project: ${p.name}`,
    "",
  ];
  const mark = (change: unknown) => (change === "added" ? "+" : change === "removed" ? "-" : "~");
  for (const r of p.diff.resources) {
    lines.push(`${mark(r.metadata["change"])} ${r.name}`, `  ${signed(r.monthlyCost)}`, "");
    for (const c of r.costComponents ?? []) if (Number(c.monthlyCost) !== 0) lines.push(`    ${mark(r.metadata["change"])} ${c.name}${c.usageBased ? " *" : ""}`, `      ${signed(c.monthlyCost)}`, "");
  }
  if (p.diff.resources.length === 0) lines.push("No resource changed cost.", "");
  lines.push(
    `Monthly cost change for ${p.name}`,
    `Amount:  ${signed(report.diffTotalMonthlyCost)} (${money(report.pastTotalMonthlyCost)} → ${money(report.totalMonthlyCost)})`,
    "```",
    "</details>",
    "",
  );
  const s = report.summary;
  lines.push(
    `${s.totalDetectedResources} cloud resources were detected: ${s.totalSupportedResources - s.totalNoPriceResources} were estimated, ${s.totalNoPriceResources} were free, ${s.totalUnsupportedResources} are not supported yet.`,
  );
  return `${lines.join("\n")}\n`;
}
