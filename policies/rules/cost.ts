/**
 * Cost rules over the model: the stack's monthly estimate within its budget (mandatory), egress shape
 * (no full mesh above N regions, no single link above $X — each denial names the cheaper topology and
 * what it would cost), and an advisory per-resource cost table with a warning near the budget.
 */
import { formatUSD } from "../../model/cost/money.js";
import type { TopologyCost } from "../../model/cost/egress.js";
import { reportResources } from "../../model/cost/report.js";
import type { Finding, ModelView, StackRule } from "../rule.js";

const cents = (s: string | undefined) => Math.round(Number(s ?? "0") * 100);

export const stackBudget: StackRule = {
  kind: "stack",
  needsModel: true,
  name: "meridian-stack-budget",
  description: "The stack's monthly cost estimate stays within the environment's budget.",
  enforcementLevel: "mandatory",
  check(_resources, { config, model }) {
    if (!model) return [];
    const budget = config.monthlyUSD ?? model.spec.budget.monthlyUSD;
    const total = cents(model.report.totalMonthlyCost);
    if (total <= Math.round(budget * 100)) return [];
    return [{ message: `monthly estimate ${formatUSD(total)} exceeds the ${model.spec.environment} budget of ${formatUSD(Math.round(budget * 100))} (largest: ${largest(model)})` }];
  },
};

/** The cheapest topology that still replicates every write to every region (regional keeps data on its continent). */
function cheapestFullReplication(model: ModelView, except: string, maxLinkCents = Infinity): TopologyCost | undefined {
  return model.topologies
    .filter((t) => t.topology !== except && t.topology !== "regional" && t.topology !== "full-mesh")
    .filter((t) => Math.max(0, ...t.links.map((l) => l.monthlyCents)) <= maxLinkCents)
    .sort((a, b) => a.monthlyCents - b.monthlyCents)[0];
}

function suggestion(model: ModelView, current: TopologyCost | undefined, maxLinkCents?: number): string {
  const better = cheapestFullReplication(model, model.spec.replication.topology, maxLinkCents);
  const regional = model.topologies.find((t) => t.topology === "regional");
  const parts: string[] = [];
  if (better && (!current || better.monthlyCents < current.monthlyCents || maxLinkCents !== undefined)) {
    parts.push(`use ${better.topology} (${formatUSD(better.monthlyCents)}/month)`);
  }
  if (regional) parts.push(`or regional (${formatUSD(regional.monthlyCents)}/month) if data may stay on its continent`);
  return parts.join(" ");
}

export const egressTopology: StackRule = {
  kind: "stack",
  needsModel: true,
  name: "meridian-egress-topology",
  description: "No full-mesh replication above N regions and no replication link above $X/month; names the cheaper topology.",
  enforcementLevel: "mandatory",
  check(_resources, { config, model }) {
    if (!model) return [];
    const { spec } = model;
    const current = model.topologies.find((t) => t.topology === spec.replication.topology);
    const findings: Finding[] = [];
    const limit = config.maxFullMeshRegions ?? spec.replication.maxFullMeshRegions;
    if (spec.replication.topology === "full-mesh" && spec.regions.length > limit) {
      findings.push({
        message: `full-mesh replication over ${spec.regions.length} regions (limit ${limit}) costs ${formatUSD(current?.monthlyCents ?? 0)}/month; ${suggestion(model, current)}`,
      });
    }
    const maxLinkCents = Math.round(config.maxLinkMonthlyUSD * 100);
    for (const link of current?.links ?? []) {
      if (link.monthlyCents > maxLinkCents) {
        findings.push({
          message: `replication link ${link.from} -> ${link.to} costs ${formatUSD(link.monthlyCents)}/month (${link.gb} GB, ${link.kind}), above ${formatUSD(maxLinkCents)}; ${suggestion(model, current, maxLinkCents) || "reduce the write volume"}`,
        });
      }
    }
    return findings;
  },
};

export const costTable: StackRule = {
  kind: "stack",
  needsModel: true,
  name: "meridian-cost-table",
  description: "Advisory: the per-resource monthly cost table, and a warning when the estimate nears the budget.",
  enforcementLevel: "advisory",
  check(_resources, { config, model }) {
    if (!model) return [];
    const { report, spec } = model;
    const budget = Math.round((config.monthlyUSD ?? spec.budget.monthlyUSD) * 100);
    const total = cents(report.totalMonthlyCost);
    const rows = [...reportResources(report)].sort((a, b) => cents(b.monthlyCost) - cents(a.monthlyCost));
    const width = Math.max(...rows.map((r) => r.name.length), 8);
    const lines = rows.map((r) => `  ${r.name.padEnd(width)}  ${formatUSD(cents(r.monthlyCost)).padStart(12)}`);
    const findings: Finding[] = [{ message: [`monthly cost estimate ${formatUSD(total)} of ${formatUSD(budget)} budget:`, ...lines].join("\n") }];
    const warnAt = config.warnAt ?? spec.budget.warnAt;
    if (total >= budget * warnAt && total <= budget) {
      findings.push({ message: `estimate is ${((100 * total) / budget).toFixed(1)}% of the budget (warns at ${warnAt * 100}%)` });
    }
    return findings;
  },
};

function largest(model: ModelView): string {
  return [...reportResources(model.report)]
    .sort((a, b) => cents(b.monthlyCost) - cents(a.monthlyCost))
    .slice(0, 3)
    .map((r) => `${r.name} ${formatUSD(cents(r.monthlyCost))}`)
    .join(", ");
}
