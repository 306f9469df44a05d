/**
 * The diff between a baseline report and now, as Infracost's `diff` breakdown: every resource whose
 * monthly cost changed, appeared or disappeared, its costs the change (components too, matched by
 * name), and totals that are the difference of the two breakdowns' totals. Resources match by type and
 * name (by name alone when the baseline does not record types).
 */
import type { Breakdown, InfracostCostComponent, InfracostResource } from "./infracost.js";
import { centsToString } from "./money.js";

export interface Baseline {
  totalMonthlyCost: string;
  resources: { name: string; resourceType?: string; monthlyCost: string; monthlyUsageCost?: string; costComponents?: { name: string; monthlyCost: string | null }[] }[];
}

const cents = (s: string | null | undefined) => Math.round(Number(s ?? "0") * 100);
const HOURS = 730;
const hourly = (c: number) => String(Number((c / 100 / HOURS).toFixed(6)));

export function diffBreakdown(now: Breakdown, past: Breakdown): Breakdown {
  const key = (r: InfracostResource, typed: boolean) => (typed ? `${r.resourceType}\u0000${r.name}` : r.name);
  const typed = past.resources.every((r) => r.resourceType);
  const before = new Map(past.resources.map((r) => [key(r, typed), r]));
  const out: InfracostResource[] = [];
  for (const r of now.resources) {
    const k = key(r, typed);
    const old = before.get(k);
    before.delete(k);
    const delta = cents(r.monthlyCost) - cents(old?.monthlyCost);
    if (old && delta === 0) continue;
    out.push(changed(r, old, delta, old ? "changed" : "added"));
  }
  for (const old of before.values()) out.push(changed({ ...old, costComponents: [] }, old, -cents(old.monthlyCost), "removed"));
  const total = cents(now.totalMonthlyCost) - cents(past.totalMonthlyCost);
  const usage = cents(now.totalMonthlyUsageCost) - cents(past.totalMonthlyUsageCost);
  return { resources: out, totalHourlyCost: hourly(total), totalMonthlyCost: centsToString(total), totalMonthlyUsageCost: centsToString(usage) };
}

function changed(r: InfracostResource, old: InfracostResource | undefined, delta: number, change: string): InfracostResource {
  const oldComponents = new Map((old?.costComponents ?? []).map((c) => [c.name, c]));
  const components: InfracostCostComponent[] = (r.costComponents ?? []).map((c) => {
    const d = cents(c.monthlyCost) - cents(oldComponents.get(c.name)?.monthlyCost);
    return { ...c, monthlyCost: centsToString(d), hourlyCost: hourly(d) };
  });
  const usage = cents(r.monthlyUsageCost) - cents(old?.monthlyUsageCost);
  return {
    name: r.name,
    resourceType: r.resourceType,
    metadata: { ...r.metadata, change },
    hourlyCost: hourly(delta),
    monthlyCost: centsToString(delta),
    monthlyUsageCost: centsToString(usage),
    costComponents: components,
  };
}

/** A report (ours or Infracost's) as the baseline of a later one. */
export function baselineFromReport(report: { totalMonthlyCost: string; projects: { breakdown: { resources: InfracostResource[] } }[] }): Baseline {
  return {
    totalMonthlyCost: report.totalMonthlyCost,
    resources: report.projects
      .flatMap((p) => p.breakdown.resources)
      .map((r) => ({
        name: r.name,
        resourceType: r.resourceType,
        monthlyCost: r.monthlyCost ?? "0",
        monthlyUsageCost: r.monthlyUsageCost ?? "0",
        costComponents: (r.costComponents ?? []).map((c) => ({ name: c.name, monthlyCost: c.monthlyCost })),
      })),
  };
}
