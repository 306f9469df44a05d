/**
 * Regional token allocation (outline §11.1.1–11.1.2): how a fixed inventory is split into per-region
 * escrow before a sale opens. Three weight components — historical demand, current load and geographic
 * isolation — are combined into one multi-factor weight, a global reserve is held back for pull
 * borrowing, and the rest is apportioned in whole units by largest remainder.
 *
 * Invariant: the allocations plus the global reserve add up to the inventory exactly, every share is a
 * non-negative integer, and a region's share never depends on the order regions are listed in.
 * Pure: no I/O, no clock.
 */

export interface RegionDemand {
  id: string;
  /** Monthly demand history, oldest first (stack `regions[].demand.history`). */
  history: readonly number[];
  /** Current load as a share of capacity, 0..1 (stack `regions[].demand.currentLoad`). */
  currentLoad: number;
  /** Requests per second the region serves at its SLO (stack `regions[].capacity`). */
  capacity: number;
  location: { lat: number; lon: number };
}

/** Coefficients of the multi-factor weight; they need not sum to 1 (they are normalised). */
export interface FactorCoefficients {
  historical: number;
  load: number;
  geographic: number;
}

export const DEFAULT_COEFFICIENTS: FactorCoefficients = { historical: 0.5, load: 0.3, geographic: 0.2 };
export const FACTORS = ["historical", "load", "geographic"] as const;
export type Factor = (typeof FACTORS)[number];

export interface AllocationOptions {
  coefficients?: FactorCoefficients;
  /** Share of the inventory kept in the global pool for pull borrowing (0..1). */
  globalReserveFraction?: number;
  /** Decay of the exponentially weighted demand history: the newest month weighs 1, the one before `decay`, … */
  historyDecay?: number;
}

export interface RegionAllocation {
  id: string;
  /** Each component's normalised share (each sums to 1 over regions). */
  components: Record<Factor, number>;
  /** The combined multi-factor weight (sums to 1 over regions). */
  weight: number;
  /** Unrounded units: weight × allocatable. */
  exact: number;
  /** Whole units of escrow the region starts with. */
  units: number;
}

export interface Allocation {
  total: number;
  globalReserve: number;
  allocatable: number;
  coefficients: FactorCoefficients;
  regions: RegionAllocation[];
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle (haversine) distance in kilometres. */
export function greatCircleKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Exponentially weighted mean of a history (newest weighs most), as seasonal-trend smoothing does. */
export function weightedHistory(history: readonly number[], decay: number): number {
  let num = 0;
  let den = 0;
  for (let i = history.length - 1, w = 1; i >= 0; i--, w *= decay) {
    num += w * (history[i] ?? 0);
    den += w;
  }
  return den === 0 ? 0 : num / den;
}

function normalise(values: number[]): number[] {
  const sum = values.reduce((s, v) => s + v, 0);
  // With no signal at all a component spreads evenly rather than dividing by zero.
  return sum > 0 ? values.map((v) => v / sum) : values.map(() => 1 / values.length);
}

/**
 * The three components, each normalised over regions:
 * - historical: exponentially weighted demand history;
 * - load: current demand in requests/s (currentLoad × capacity);
 * - geographic: isolation, the mean great-circle distance to the other regions — a far-away region
 *   borrows from the pool over a longer round trip, so it should hold more stock locally.
 */
function weightComponents(regions: readonly RegionDemand[], historyDecay = 0.7): Record<Factor, number>[] {
  const historical = normalise(regions.map((r) => weightedHistory(r.history, historyDecay)));
  const load = normalise(regions.map((r) => r.currentLoad * r.capacity));
  const geographic = normalise(
    regions.map((r) => {
      const others = regions.filter((o) => o.id !== r.id);
      return others.length === 0 ? 1 : others.reduce((s, o) => s + greatCircleKm(r.location, o.location), 0) / others.length;
    }),
  );
  return regions.map((_, i) => ({ historical: historical[i]!, load: load[i]!, geographic: geographic[i]! }));
}

function checkOptions(total: number, regions: readonly RegionDemand[], c: FactorCoefficients, reserve: number): void {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total: got ${total}; expected a non-negative integer`);
  if (regions.length === 0) throw new RangeError("regions: expected at least one region");
  for (const f of FACTORS) if (!(c[f] >= 0)) throw new RangeError(`coefficients.${f}: got ${c[f]}; expected >= 0`);
  if (c.historical + c.load + c.geographic <= 0) throw new RangeError("coefficients: expected at least one positive coefficient");
  if (!(reserve >= 0 && reserve < 1)) throw new RangeError(`globalReserveFraction: got ${reserve}; expected 0 <= f < 1`);
}

/** Split `total` units into a global reserve and per-region escrow by the multi-factor weight. */
export function allocate(total: number, regions: readonly RegionDemand[], options: AllocationOptions = {}): Allocation {
  const coefficients = options.coefficients ?? DEFAULT_COEFFICIENTS;
  const reserveFraction = options.globalReserveFraction ?? 0.1;
  checkOptions(total, regions, coefficients, reserveFraction);
  const sumC = coefficients.historical + coefficients.load + coefficients.geographic;
  const components = weightComponents(regions, options.historyDecay ?? 0.7);
  const weights = components.map((k) => FACTORS.reduce((s, f) => s + coefficients[f] * k[f], 0) / sumC);
  const globalReserve = Math.floor(total * reserveFraction);
  const allocatable = total - globalReserve;
  const units = largestRemainder(
    allocatable,
    weights,
    regions.map((r) => r.id),
  );
  return {
    total,
    globalReserve,
    allocatable,
    coefficients,
    regions: regions.map((r, i) => ({ id: r.id, components: components[i]!, weight: weights[i]!, exact: weights[i]! * allocatable, units: units[i]! })),
  };
}

/** Hamilton's largest-remainder apportionment; ties go to the lexically smaller id so order never matters. */
export function largestRemainder(amount: number, weights: readonly number[], ids: readonly string[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  const exact = weights.map((w) => (sum > 0 ? (w / sum) * amount : amount / weights.length));
  const floors = exact.map(Math.floor);
  let left = amount - floors.reduce((s, v) => s + v, 0);
  const order = exact.map((e, i) => i).sort((a, b) => exact[b]! - floors[b]! - (exact[a]! - floors[a]!) || (ids[a]! < ids[b]! ? -1 : 1));
  for (const i of order) {
    if (left <= 0) break;
    floors[i]!++;
    left--;
  }
  return floors;
}
