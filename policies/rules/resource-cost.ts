/**
 * Per-resource cost rules beside the stack budget, priced by the same report as the budget:
 * - a database or cache whose monthly price exceeds the stack's ceiling for its kind
 *   (`meridian:budget.limits.databaseMonthlyUSD` / `cacheMonthlyUSD`, or the policy config's);
 * - a full-mesh topology whose replication egress exceeds a star of the same writers by more than the
 *   allowed premium (`meridian:budget.maxFullMeshPremiumOverStar`), naming both costs.
 */
import { formatUSD } from "../../model/cost/money.js";
import { reportResources } from "../../model/cost/report.js";
import type { Finding, StackRule } from "../rule.js";

const cents = (s: string | undefined) => Math.round(Number(s ?? "0") * 100);

export const resourceCostLimit: StackRule = {
  kind: "stack",
  needsModel: true,
  name: "meridian-resource-cost-limit",
  description: "No database or cache is sized above the stack's monthly ceiling for its kind.",
  enforcementLevel: "mandatory",
  check(_resources, { config, model }) {
    if (!model) return [];
    const limits: Record<string, number | undefined> = {
      database: config.databaseMonthlyUSD ?? model.spec.budget.limits.databaseMonthlyUSD,
      cache: config.cacheMonthlyUSD ?? model.spec.budget.limits.cacheMonthlyUSD,
    };
    const findings: Finding[] = [];
    for (const r of reportResources(model.report)) {
      const category = r.metadata["category"];
      const limit = typeof category === "string" ? limits[category] : undefined;
      if (limit === undefined || cents(r.monthlyCost) <= Math.round(limit * 100)) continue;
      const sizes = (r.costComponents ?? []).map((c) => c.name).join(", ");
      const urn = typeof r.metadata["urn"] === "string" ? (r.metadata["urn"] as string) : undefined;
      findings.push({
        message: `${category} ${r.name} costs ${formatUSD(cents(r.monthlyCost))}/month (${sizes}), above the ${category} limit of ${formatUSD(Math.round(limit * 100))}`,
        resource: { type: r.resourceType, name: r.name, ...(urn ? { urn } : {}) },
      });
    }
    return findings;
  },
};

export const fullMeshPremium: StackRule = {
  kind: "stack",
  needsModel: true,
  name: "meridian-full-mesh-premium",
  description: "A full mesh costs at most the allowed share more than a star of the same writers.",
  enforcementLevel: "mandatory",
  check(_resources, { config, model }) {
    if (!model || model.spec.replication.topology !== "full-mesh") return [];
    const mesh = model.topologies.find((t) => t.topology === "full-mesh");
    const star = model.topologies.find((t) => t.topology === "star");
    if (!mesh || !star || star.monthlyCents <= 0) return [];
    const allowed = config.maxFullMeshPremiumOverStar ?? model.spec.budget.maxFullMeshPremiumOverStar;
    const premium = mesh.monthlyCents / star.monthlyCents - 1;
    if (premium <= allowed) return [];
    return [
      {
        message: `full-mesh egress ${formatUSD(mesh.monthlyCents)}/month is ${(premium * 100).toFixed(1)}% above a star's ${formatUSD(star.monthlyCents)} (allowed ${(allowed * 100).toFixed(1)}%)`,
      },
    ];
  },
};
