/**
 * Placement for a stack: the `meridian:replication.placement` block turned into a placement problem.
 * A candidate region's monthly cost is the configured replica running cost plus, from the price table,
 * what it costs to send every writer's volume to it directly (list price) — so a replica across a cloud
 * boundary or an ocean costs what its egress costs.
 */
import { priceEgress } from "../cost/egress.js";
import { centsToString } from "../cost/money.js";
import { regionById, type EstateSpec } from "../estate.js";
import { StackConfigError, type ConfigProblem } from "../config/errors.js";
import { defaultLatencyModel } from "./latency.js";
import { placeReplicas, type Candidate, type Placement } from "./greedy.js";

export function replicaMonthlyUSD(spec: EstateSpec, regionId: string, runningUSD: number): number {
  const links = spec.replication.writers.filter((w) => w !== regionId).map((w) => ({ from: w, to: regionId, gb: spec.replication.writeGBPerMonth[w] ?? 0, carries: [] }));
  const cents = priceEgress(links, spec.regions).links.reduce((s, l) => s + l.monthlyCents, 0);
  return Number(centsToString(cents + Math.round(runningUSD * 100)));
}

/** Region and demand ids the placement block names must exist (checked here: the block's schema cannot see regions). */
function placementProblems(spec: EstateSpec): ConfigProblem[] {
  const cfg = spec.replication.placement;
  if (!cfg) return [];
  const regions = new Set(spec.regions.map((r) => r.id));
  const demand = new Set(cfg.demand.map((d) => d.id));
  const problems: ConfigProblem[] = [];
  (cfg.candidates ?? []).forEach((id, i) => {
    if (!regions.has(id)) problems.push({ keyPath: `meridian:replication.placement.candidates[${i}]`, value: JSON.stringify(id), expected: `a region id: ${[...regions].join(", ")}` });
  });
  for (const key of Object.keys(cfg.latencyOverridesMs)) {
    const [from, to] = key.split("→") as [string, string];
    if (!demand.has(from) || !regions.has(to)) {
      problems.push({
        keyPath: `meridian:replication.placement.latencyOverridesMs.${key}`,
        value: JSON.stringify(key),
        expected: "<demand id>→<region id> naming a demand point and a region of this stack",
      });
    }
  }
  return problems;
}

export function placementForSpec(spec: EstateSpec): Placement | null {
  const cfg = spec.replication.placement;
  if (!cfg) return null;
  const problems = placementProblems(spec);
  if (problems.length) throw new StackConfigError(`Pulumi.${spec.stack}.yaml`, problems);
  const writers = new Set(spec.replication.writers);
  const ids = cfg.candidates ?? spec.regions.map((r) => r.id).filter((id) => !writers.has(id));
  const candidates: Candidate[] = ids.map((id) => {
    const r = regionById(spec, id);
    return { id, ...r.location, monthlyUSD: replicaMonthlyUSD(spec, id, cfg.replicaMonthlyUSD) };
  });
  return placeReplicas({
    demand: cfg.demand,
    candidates,
    fixed: spec.replication.writers.map((w) => ({ id: w, ...regionById(spec, w).location })),
    slaMs: cfg.slaMs,
    budgetUSD: cfg.monthlyBudgetUSD,
    latency: { ...defaultLatencyModel, routeFactor: cfg.routeFactor, overheadMs: cfg.overheadMs, overrides: cfg.latencyOverridesMs },
  });
}
