/**
 * Rebalancing (outline §11.1.3), pure. Every region publishes its free units, reservation rate and
 * borrow request with each lease renewal; from that shared view `rebalancePlan` computes, the same way
 * in every region, which units should move where. Each region then carries out only its own part —
 * taking its allotment from the pool, giving its surplus straight to hot regions — because only a
 * lease's owner may move units out of it (its ledger must give them up first).
 *
 * - pull (reactive): a region refills from the pool at its reorder point (the (r, Q) policy of
 *   model/escrow/refill.ts) and when it runs dry; when the pool is dry too it publishes a borrow
 *   request, and regions with spare units transfer to it directly;
 * - push (proactive): regions never ask; each tick the plan hands pool units to hot regions and moves
 *   cold regions' surplus straight to hot ones (hot: free stock below the demand expected over the
 *   horizon; cold: more than twice its own, or no demand at all);
 * - hybrid (production): both — the reactive refills and borrowing, plus the periodic plan.
 */

export type RebalanceMode = "pull" | "push" | "hybrid";

export interface RebalancePolicy {
  mode: RebalanceMode;
  /** Units per refill (Q of the (r, Q) policy). */
  batchSize: number;
  /** Free units at or under which a region with demand refills (r). */
  reorderPoint: number;
  /** Seconds of expected demand a region keeps; more than twice that is surplus. */
  horizonSeconds: number;
  /** Callers allowed to wait on one in-flight pull before the rest are turned away (backpressure). */
  maxWaiters: number;
}

export const DEFAULT_POLICY: RebalancePolicy = { mode: "hybrid", batchSize: 50, reorderPoint: 10, horizonSeconds: 5, maxWaiters: 256 };

export interface RegionState {
  id: string;
  /** Units held and not reserved. */
  free: number;
  /** Expected demand, units/s (the live rate, or the forecast where it is higher). */
  demand: number;
  /**
   * Its borrow request (0 if none): the largest request its buyers were refused for lack of units while the
   * pool was dry — the free units it needs at once. Peers are asked for at least a batch beyond its free units.
   */
  want: number;
  live: boolean;
}

export interface Transfer {
  from: string;
  to: string;
  qty: number;
}

export interface RebalancePlan {
  /** Units each region should take from the pool now. */
  grants: Record<string, number>;
  transfers: Transfer[];
}

/** Units a region keeps: the demand it expects over the horizon (never at or under its reorder point); less than one expected sale keeps nothing. */
export function keepTarget(policy: RebalancePolicy, demand: number): number {
  const expected = demand * policy.horizonSeconds;
  return expected >= 1 ? Math.max(policy.reorderPoint + 1, Math.ceil(expected)) : 0;
}

/** Units to pull for a request of `need` units given `free` local units. */
export function pullAmount(policy: RebalancePolicy, need: number, free: number): number {
  return Math.max(policy.batchSize, need - free);
}

/** The (r, Q) refill: a region with demand at or under its reorder point asks for a batch (pull, hybrid). */
export function refillWant(policy: RebalancePolicy, free: number, demand: number): number {
  return policy.mode !== "push" && demand > 0 && free <= policy.reorderPoint ? policy.batchSize : 0;
}

/** Units a borrower asks its peers for: what its refused request lacks, and at least a batch, as a refill would take. */
function asked(policy: RebalancePolicy, r: RegionState): number {
  return r.want > 0 ? Math.max(policy.batchSize, r.want - r.free) : 0;
}

/** Hot regions' shortfall: explicit borrow requests (every mode), and below-target stock (push, hybrid). */
function deficits(policy: RebalancePolicy, regions: readonly RegionState[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of regions) {
    if (!r.live) continue;
    const below = policy.mode === "pull" ? 0 : Math.max(0, keepTarget(policy, r.demand) - r.free);
    const d = Math.max(below, asked(policy, r));
    if (d > 0) out.set(r.id, d);
  }
  return out;
}

/**
 * Units a region can spare for the periodic plan: everything when it expects no demand, else what
 * exceeds twice its target (hysteresis, so units do not ping-pong).
 */
export function surplus(policy: RebalancePolicy, r: RegionState): number {
  const t = keepTarget(policy, r.demand);
  if (t === 0) return r.free;
  return r.free > 2 * t ? r.free - t : 0;
}

/**
 * Units a region with free stock gives a borrower (a region dry while the pool is too): what exceeds
 * its own target, and never less than the borrower's demand-weighted share of its free units (at least
 * one). A hot region below its own target still shares: otherwise a region whose buyers arrived after
 * the others had drawn the pool would be refused for the whole sale while they sell everything. The
 * borrower's demand counts at least what it asked for over the horizon (its buyers' refused requests
 * are demand too, but its measured rate may not show them yet).
 */
export function shareFor(policy: RebalancePolicy, giver: RegionState, borrower: RegionState): number {
  if (giver.free <= 0) return 0;
  const dg = Math.max(0, giver.demand);
  const db = Math.max(borrower.demand, asked(policy, borrower) / policy.horizonSeconds, 1e-9);
  const share = Math.max(1, Math.ceil((giver.free * db) / (dg + db)));
  return Math.min(giver.free, Math.max(giver.free - keepTarget(policy, dg), share));
}

const byAmountThenId = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1);

/**
 * The plan over one consistent view: hot regions' shortfall is met from the pool first (push and
 * hybrid), then from cold regions' surplus, largest shortfall from largest surplus. Deterministic, so
 * every region computing it from the same view agrees.
 */
export function rebalancePlan(policy: RebalancePolicy, regions: readonly RegionState[], pool: number): RebalancePlan {
  const need = deficits(policy, regions);
  const grants: Record<string, number> = {};
  let left = pool;
  if (policy.mode !== "pull") {
    for (const [id, d] of [...need].sort(byAmountThenId)) {
      const g = Math.min(d, left);
      if (g <= 0) break;
      grants[id] = g;
      left -= g;
      need.set(id, d - g);
    }
  }
  // Borrowers (dry while the pool is dry) are served first, by every live region that is not borrowing
  // itself — hot ones too, their share (shareFor); below-target regions take only what exceeds twice a
  // giver's target, from regions that are not short themselves. With no lender at all, borrowers pool (consolidate).
  const given = new Map<string, number>();
  const transfers: Transfer[] = [];
  const borrowers = new Set(regions.filter((r) => r.live && r.want > 0).map((r) => r.id));
  const lenders = regions.filter((r) => r.live && !borrowers.has(r.id));
  const givers = lenders.filter((r) => !need.get(r.id));
  const order = [...need].filter(([, d]) => d > 0).sort((a, b) => Number(borrowers.has(b[0])) - Number(borrowers.has(a[0])) || byAmountThenId(a, b));
  for (const [to, d0] of order) {
    let d = d0;
    const borrower = borrowers.has(to) ? regions.find((r) => r.id === to)! : null;
    const spare = (borrower ? lenders : givers)
      .map((r): [string, number] => [r.id, (borrower ? shareFor(policy, r, borrower) : surplus(policy, r)) - (given.get(r.id) ?? 0)])
      .filter(([, x]) => x > 0)
      .sort(byAmountThenId);
    for (const [from, x] of spare) {
      if (d <= 0) break;
      const q = Math.min(d, x);
      transfers.push({ from, to, qty: q });
      given.set(from, (given.get(from) ?? 0) + q);
      d -= q;
    }
  }
  consolidate(regions, borrowers, grants, transfers);
  return { grants, transfers };
}

/**
 * No lender served any borrower — every region holding free units borrows itself, e.g. the last units split
 * between regions whose buyers each want more than their region holds — so the borrowers' free units are pooled
 * in one borrower whose request they meet: of those, the one holding the most (fewest units move; ties by id),
 * taking what it lacks from the others, most free first. Units move only to a borrower they satisfy, and
 * nothing moves while some borrower already holds what it asked for (its buyers have yet to return): the next
 * plan leaves the receiver be until it has sold or stopped borrowing, so units never ping-pong.
 */
function consolidate(regions: readonly RegionState[], borrowers: ReadonlySet<string>, grants: Record<string, number>, transfers: Transfer[]): void {
  const dry = regions.filter((r) => borrowers.has(r.id));
  if (dry.some((b) => (grants[b.id] ?? 0) > 0 || b.free >= b.want) || transfers.some((t) => borrowers.has(t.to))) return;
  const units = dry.reduce((s, b) => s + Math.max(0, b.free), 0);
  const byFreeThenId = (a: RegionState, b: RegionState) => b.free - a.free || (a.id < b.id ? -1 : 1);
  const to = dry.filter((b) => b.want <= units).sort(byFreeThenId)[0];
  if (!to) return;
  let d = to.want - to.free;
  for (const from of dry.filter((b) => b !== to && b.free > 0).sort(byFreeThenId)) {
    if (d <= 0) break;
    const q = Math.min(d, from.free);
    transfers.push({ from: from.id, to: to.id, qty: q });
    d -= q;
  }
}

export interface RegionUtilisation {
  region: string;
  /** Units reserved per second (EWMA). */
  rate: number;
  held: number;
}

/** Utilisation = seconds of stock consumed per second; hot above 1/horizon, cold below a tenth of it (reporting). */
export function classify(policy: RebalancePolicy, regions: readonly RegionUtilisation[]): { hot: string[]; cold: string[] } {
  const hot: string[] = [];
  const cold: string[] = [];
  for (const r of regions) {
    const u = r.held === 0 ? (r.rate > 0 ? Infinity : 0) : r.rate / r.held;
    if (u * policy.horizonSeconds > 1) hot.push(r.region);
    else if (u * policy.horizonSeconds < 0.1) cold.push(r.region);
  }
  return { hot, cold };
}

/** Exponentially weighted rate: `count` units observed over `elapsedMs`, smoothing half-life `halfLifeMs`. */
export function ewmaRate(previous: number, count: number, elapsedMs: number, halfLifeMs = 5000): number {
  if (elapsedMs <= 0) return previous;
  const alpha = 1 - Math.pow(0.5, elapsedMs / halfLifeMs);
  return previous + alpha * ((count * 1000) / elapsedMs - previous);
}
