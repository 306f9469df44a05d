/**
 * Read-replica placement (outline §14.3.2): choose regions for read replicas so user demand is served
 * within a latency SLA at the least monthly cost, within a budget. Greedy by newly covered demand ÷
 * monthly cost, then a local-search pass that swaps a chosen replica for an unchosen candidate while
 * that covers more demand (or the same for less money). Regions that must hold data anyway (the
 * writers) are placed first at no placement cost. Pure: the caller supplies costs and the latency model.
 */
import { rttMs, type GeoPoint, type LatencyModel } from "./latency.js";

export interface DemandPoint extends GeoPoint {
  id: string;
  /** Relative demand (requests, users). */
  weight: number;
}

export interface Candidate extends GeoPoint {
  id: string;
  monthlyUSD: number;
}

export interface PlacementProblem {
  demand: DemandPoint[];
  candidates: Candidate[];
  /** Regions already serving (writers): always in the result, not charged to the budget. */
  fixed: (GeoPoint & { id: string })[];
  slaMs: number;
  budgetUSD: number;
  latency: LatencyModel;
}

export interface Assignment {
  demand: string;
  region: string;
  rttMs: number;
  withinSla: boolean;
}

export interface Placement {
  replicas: string[];
  monthlyUSD: number;
  /** Share of demand weight served within the SLA. */
  coverage: number;
  p50Ms: number;
  p95Ms: number;
  assignments: Assignment[];
  /** How the result was reached, for the report: `greedy` picks then `swap` moves. */
  steps: string[];
}

export function placeReplicas(problem: PlacementProblem): Placement {
  const { demand, candidates, slaMs, budgetUSD } = problem;
  const latency = (d: DemandPoint, r: GeoPoint & { id: string }) => rttMs(problem.latency, d, r);
  const covers = new Map(candidates.map((c) => [c.id, new Set(demand.filter((d) => latency(d, c) <= slaMs).map((d) => d.id))]));
  const fixedCover = new Set(demand.filter((d) => problem.fixed.some((f) => latency(d, f) <= slaMs)).map((d) => d.id));
  const weightOf = new Map(demand.map((d) => [d.id, d.weight]));
  const coveredWeight = (chosen: Candidate[]) => {
    const covered = new Set(fixedCover);
    for (const c of chosen) for (const id of covers.get(c.id)!) covered.add(id);
    return [...covered].reduce((s, id) => s + weightOf.get(id)!, 0);
  };
  const cost = (chosen: Candidate[]) => chosen.reduce((s, c) => s + c.monthlyUSD, 0);
  const steps: string[] = [];

  // Greedy: best newly covered demand per dollar that still fits the budget.
  let chosen: Candidate[] = [];
  for (;;) {
    const base = coveredWeight(chosen);
    let best: { c: Candidate; gain: number; ratio: number } | undefined;
    for (const c of candidates) {
      if (chosen.includes(c) || cost(chosen) + c.monthlyUSD > budgetUSD) continue;
      const gain = coveredWeight([...chosen, c]) - base;
      if (gain <= 0) continue;
      const ratio = c.monthlyUSD > 0 ? gain / c.monthlyUSD : Infinity;
      if (!best || ratio > best.ratio || (ratio === best.ratio && c.monthlyUSD < best.c.monthlyUSD)) best = { c, gain, ratio };
    }
    if (!best) break;
    chosen.push(best.c);
    steps.push(`greedy: add ${best.c.id} (+${best.gain} demand for $${best.c.monthlyUSD})`);
  }

  // Local search: swap one chosen for one unchosen while it strictly improves (coverage, then cost).
  for (let round = 0; round < 100; round++) {
    const now = { covered: coveredWeight(chosen), cost: cost(chosen) };
    let move: { out: Candidate; in: Candidate; covered: number; cost: number } | undefined;
    for (const out of chosen) {
      for (const into of candidates) {
        if (chosen.includes(into)) continue;
        const next = [...chosen.filter((c) => c !== out), into];
        const c = cost(next);
        if (c > budgetUSD) continue;
        const w = coveredWeight(next);
        const better = w > now.covered || (w === now.covered && c < now.cost);
        if (better && (!move || w > move.covered || (w === move.covered && c < move.cost))) move = { out, in: into, covered: w, cost: c };
      }
    }
    if (!move) break;
    const { out, in: into } = move;
    chosen = [...chosen.filter((c) => c !== out), into];
    steps.push(`swap: ${out.id} → ${into.id} (covered ${now.covered} → ${move.covered}, $${now.cost} → $${move.cost})`);
  }

  const serving = [...problem.fixed, ...chosen];
  const assignments = demand.map((d): Assignment => {
    let best = serving[0]!;
    for (const r of serving) if (latency(d, r) < latency(d, best)) best = r;
    const ms = latency(d, best);
    return { demand: d.id, region: best.id, rttMs: ms, withinSla: ms <= slaMs };
  });
  const total = demand.reduce((s, d) => s + d.weight, 0);
  return {
    replicas: chosen.map((c) => c.id),
    monthlyUSD: cost(chosen),
    coverage: total > 0 ? coveredWeight(chosen) / total : 1,
    p50Ms: weightedPercentile(assignments, weightOf, 0.5),
    p95Ms: weightedPercentile(assignments, weightOf, 0.95),
    assignments,
    steps,
  };
}

/** Smallest RTT at which at least `q` of the demand weight is served. */
function weightedPercentile(assignments: Assignment[], weightOf: Map<string, number>, q: number): number {
  const sorted = [...assignments].sort((a, b) => a.rttMs - b.rttMs);
  const total = sorted.reduce((s, a) => s + weightOf.get(a.demand)!, 0);
  let acc = 0;
  for (const a of sorted) {
    acc += weightOf.get(a.demand)!;
    if (acc >= q * total - 1e-9) return a.rttMs;
  }
  return sorted.at(-1)?.rttMs ?? 0;
}
