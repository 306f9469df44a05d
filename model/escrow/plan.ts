/**
 * The escrow plan of a stack, per SKU: every number the escrow service runs with, computed once here.
 * - Predictive allocation: each region's next-period demand forecast (Holt-Winters on its history,
 *   model/forecast.ts) replaces the raw history in the multi-factor weight; a SKU's own demand prior
 *   (`sales.<sku>.prior`) is blended in; units are apportioned by largest remainder.
 * - Refill: the shared pool's (r, Q) plan over the SKU's opening rate split by those weights (refill.ts):
 *   the batch size and each region's reorder point.
 * - Debt ceiling: correlated concurrent exhaustion over the exposure window (debt.ts), sizing how far
 *   the waiting room may overbook admissions.
 * Pure: no I/O, no clock.
 */
import type { EstateSpec } from "../estate.js";
import { allocate, largestRemainder, type RegionDemand } from "./allocation.js";
import { concurrentExhaustion, debtCeiling, type ConcurrentExhaustion, type DebtCeiling } from "./debt.js";
import { backtest, fitHoltWinters, type Backtest } from "../forecast.js";
import { refillPlan, type RefillPlan } from "./refill.js";

/** Each region's demand signals as the allocation reads them, from the stack's region config. */
function regionDemands(spec: Pick<EstateSpec, "regions">): RegionDemand[] {
  return spec.regions.map((r) => ({
    id: r.id,
    history: r.demand.history,
    currentLoad: r.demand.currentLoad,
    capacity: r.capacity,
    location: r.location,
  }));
}

export interface RegionForecast extends Backtest {
  id: string;
}

export interface SkuPlan {
  sku: string;
  total: number;
  globalReserve: number;
  /** Region → share of demand (formula with the forecast, blended with the SKU's prior); sums to 1. */
  weights: Record<string, number>;
  /** Region → units it starts with. */
  allocation: Record<string, number>;
  /** Purchases per second across the estate at open, and each region's share of it. */
  openingRate: number;
  forecastRate: Record<string, number>;
  refill: RefillPlan;
  reorderPoints: Record<string, number>;
  exhaustion: ConcurrentExhaustion;
  debt: DebtCeiling;
  opensAt?: string;
}

/** Each region's demand forecast for the next period, with the held-out check of the last one. */
export function regionForecasts(spec: Pick<EstateSpec, "regions" | "runtime">): RegionForecast[] {
  const m = spec.runtime.escrow.allocation.seasonLength;
  return spec.regions.map((r) => {
    const h = r.demand.history;
    if (h.length >= 2) return { id: r.id, ...backtest(h, m) };
    const next = fitHoltWinters(h, m).forecast(1);
    return { id: r.id, method: "naive" as const, forecast: next, actual: h[0] ?? 0, absolutePercentError: null, next };
  });
}

/**
 * Plans already computed in this process, by their inputs' JSON. One evaluation of the estate renders the escrow
 * config (or a readiness probe that reads it) for every region and service, each asking for the same plans (a
 * fifth of a prod `meridian plan`); the key is the inputs themselves, so a spec changed in place misses the cache.
 */
const PLANS = new Map<string, SkuPlan[]>();
const MAX_PLANS = 64;

export function skuPlans(spec: Pick<EstateSpec, "regions" | "runtime">): SkuPlan[] {
  const e = spec.runtime.escrow;
  const key = JSON.stringify([spec.regions.map((r) => [r.id, r.demand.history, r.demand.currentLoad, r.capacity, r.location]), e.inventory, e.sales, e.allocation, e.refill, e.risk]);
  let plans = PLANS.get(key);
  if (!plans) {
    plans = computeSkuPlans(spec);
    if (PLANS.size >= MAX_PLANS) PLANS.delete(PLANS.keys().next().value!);
    PLANS.set(key, plans);
  }
  // A copy: callers own what they are handed.
  return structuredClone(plans);
}

function computeSkuPlans(spec: Pick<EstateSpec, "regions" | "runtime">): SkuPlan[] {
  const e = spec.runtime.escrow;
  const forecasts = new Map(regionForecasts(spec).map((f) => [f.id, f.next]));
  // The historical component weighs each region by its forecast next-period demand.
  const predicted: RegionDemand[] = regionDemands(spec).map((r) => ({ ...r, history: [forecasts.get(r.id) ?? 0] }));
  const ids = predicted.map((r) => r.id);
  return Object.entries(e.inventory)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([sku, total]): SkuPlan => {
      const sale = e.sales[sku] ?? {};
      const base = allocate(total, predicted, { coefficients: e.allocation.coefficients, globalReserveFraction: e.allocation.globalReserveFraction });
      const prior = sale.prior ? ids.map((id) => sale.prior![id] ?? 0) : null;
      const priorSum = prior?.reduce((s, v) => s + v, 0) ?? 0;
      const p = prior && priorSum > 0 ? e.allocation.priorWeight : 0;
      const w = base.regions.map((r, i) => (1 - p) * r.weight + (p > 0 ? (p * prior![i]!) / priorSum : 0));
      const units = largestRemainder(base.allocatable, w, ids);
      const openingRate = sale.openingRatePerSecond ?? e.refill.openingRatePerSecond;
      // A region the weights give no demand still gets a trickle, so its reorder point is defined.
      const rates = ids.map((id, i) => ({ id, arrivalRate: Math.max(openingRate * w[i]!, openingRate * 1e-6) }));
      const refill = refillPlan({
        regions: rates,
        serviceRate: e.refill.poolServiceRate,
        targetUtilisation: e.refill.targetUtilisation,
        latencyMeanMs: e.refill.latencyMeanMs,
        latencyStdMs: e.refill.latencyStdMs,
        burstFactor: e.refill.burstFactor,
        failureRecoveryMs: e.refill.failureRecoveryMs,
        serviceLevel: e.refill.serviceLevel,
      });
      const exhaustion = concurrentExhaustion(
        refill.regions.map((r) => ({ id: r.id, expectedDemand: r.windowDemand, escrow: r.reorderPoint })),
        e.refill.demandCv,
      );
      const debt = debtCeiling({ costOfOversell: e.risk.costOfOversellUSD, riskTolerance: e.risk.riskToleranceUSD, exhaustionProbability: exhaustion.all, maxDebt: refill.batchSize });
      return {
        sku,
        total,
        globalReserve: base.globalReserve,
        weights: Object.fromEntries(ids.map((id, i) => [id, w[i]!])),
        allocation: Object.fromEntries(ids.map((id, i) => [id, units[i]!])),
        openingRate,
        forecastRate: Object.fromEntries(rates.map((r) => [r.id, r.arrivalRate])),
        refill,
        reorderPoints: Object.fromEntries(refill.regions.map((r) => [r.id, r.reorderPoint])),
        exhaustion,
        debt,
        ...(sale.opensAt ? { opensAt: sale.opensAt } : {}),
      };
    });
}
