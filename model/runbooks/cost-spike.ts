/**
 * Cost-spike investigation (outline §14.4.3) with this stack's numbers: identify against a baseline,
 * drill down by component and replication link, find the root cause (which writer's volume drives which
 * links, at what marginal $/GB), remediate (the cheaper topology and its saving), and prevent.
 */
import { compareTopologies } from "../cost/egress.js";
import { formatUSD } from "../cost/money.js";
import { buildCostReport, replicationEgress, replicationInput, reportResources } from "../cost/report.js";
import type { EstateSpec } from "../estate.js";
import type { Runbook } from "./runbook.js";

const cents = (s: string) => Math.round(Number(s) * 100);

/** Egress $ per extra GB a writer writes: the list price of every link that carries its data. */
export function marginalUSDPerGB(spec: EstateSpec): Record<string, number> {
  const out: Record<string, number> = {};
  for (const link of replicationEgress(spec).links) {
    const perGB = link.components[0]?.price.usd ?? 0;
    for (const c of link.carries) out[c.writer] = Number(((out[c.writer] ?? 0) + perGB).toFixed(6));
  }
  return out;
}

export const runbook: Runbook = {
  name: "cost-spike",
  title: "Cost spike investigation (identify, drill down, root cause, remediate, prevent)",
  render(spec) {
    const report = buildCostReport(spec);
    const total = cents(report.totalMonthlyCost);
    const budget = Math.round(spec.budget.monthlyUSD * 100);
    const top = [...reportResources(report)].sort((a, b) => cents(b.monthlyCost ?? "0") - cents(a.monthlyCost ?? "0")).slice(0, 5);
    const alternatives = compareTopologies(replicationInput(spec));
    const current = alternatives.find((t) => t.topology === spec.replication.topology)!;
    const marginal = marginalUSDPerGB(spec);
    const s = spec.stack;
    return [
      `# Cost spike investigation — stack ${s}`,
      "",
      `Expected usage-based spend (egress — replication and east-west calls between regions — and DNS queries, the part that spikes): **${formatUSD(total)}/month**; the whole bill against the budget of ${formatUSD(budget)} (advisory warning at ${spec.budget.warnAt * 100}%) is \`meridian cost --stack ${spec.stack}\`.`,
      "",
      "## 1. Identify the spike (10 min)",
      "",
      "```sh",
      `meridian cost --stack ${s} --json > cost-now.json`,
      `meridian cost --stack ${s} --baseline cost-last-month.json      # past, now, and every resource that changed`,
      "```",
      "Compare with the cloud bills' data-transfer lines (AWS Cost Explorer usage type `DataTransfer-Out-Bytes` / `DataTransfer-Regional-Bytes`, GCP billing export SKU `Network Inter Region`/`Network Internet Egress`, Azure `Bandwidth`).",
      "",
      "## 2. Drill down by component and link (20 min)",
      "",
      "| resource | monthly |",
      "|---|---|",
      ...top.map((r) => `| ${r.name} | ${formatUSD(cents(r.monthlyCost ?? "0"))} |`),
      "",
      "## 3. Root cause (15 min)",
      "",
      "Replication egress scales with each writer's volume over every link that carries it. Marginal egress per extra GB written:",
      "",
      "| writer | GB/month now | $ per extra GB |",
      "|---|---|---|",
      ...spec.replication.writers.map((w) => `| ${w} | ${spec.replication.writeGBPerMonth[w] ?? 0} | $${(marginal[w] ?? 0).toFixed(3)} |`),
      "",
      "Typical causes: a writer's volume grew (backfill, a new index rebuilt into WAL, a bulk import); a topology change; a relay moved across a cloud boundary (internet egress instead of inter-region); DNS query growth (queries are billed per million) or extra health-check features.",
      "",
      "## 4. Remediate (30 min)",
      "",
      ...alternatives.map(
        (t) =>
          `- ${t.topology}: ${formatUSD(t.monthlyCents)}/month${t.topology === current.topology ? " (current)" : ` (${t.monthlyCents < current.monthlyCents ? "saves" : "costs"} ${formatUSD(Math.abs(current.monthlyCents - t.monthlyCents))})`}`,
      ),
      "",
      "Change `meridian:replication.topology` (regional keeps data on its continent), throttle or batch the writer that grew, or move a relay onto the writer's cloud. Re-run `meridian cost` to confirm before `pulumi up`.",
      "",
      "## 5. Prevent",
      "",
      "- The policy pack denies a stack over its budget (`meridian-stack-budget`), a full mesh above `maxFullMeshRegions`, and any link above `maxLinkMonthlyUSD` (`meridian-egress-topology`); run it in CI: `pulumi preview --policy-pack policies`.",
      `- Keep last month's \`meridian cost --json\` as the baseline artifact; alert when \`diffTotalMonthlyCost\` exceeds 10% (${formatUSD(Math.round(total / 10))} today).`,
      "",
    ].join("\n");
  },
};
