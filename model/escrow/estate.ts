/**
 * Escrow allocations per region for an estate: each SKU of `runtime.escrow.inventory` split over the
 * stack's regions by the plan (plan.ts: the multi-factor formula with forecast demand and the SKU's
 * prior). Components, dashboards and the workloads area read these numbers; they never recompute them. Pure.
 */
import type { EstateSpec } from "../estate.js";
import { skuPlans, type SkuPlan } from "./plan.js";

export interface EstateEscrowAllocation {
  sku: string;
  total: number;
  globalReserve: number;
  /** Region id → units of escrow the region starts with. */
  regions: Record<string, number>;
  detail: SkuPlan;
}

/** Escrow allocations per region, per SKU, from the plan. */
export function escrowAllocations(spec: Pick<EstateSpec, "regions" | "runtime">): EstateEscrowAllocation[] {
  return skuPlans(spec).map((p) => ({ sku: p.sku, total: p.total, globalReserve: p.globalReserve, regions: p.allocation, detail: p }));
}
