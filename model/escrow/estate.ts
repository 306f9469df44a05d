/**
 * Escrow allocations per region for an estate: each SKU of `runtime.escrow.inventory` split over the
 * stack's regions by the multi-factor formula, from `regions[].demand`, `.capacity` and `.location`.
 * Components and the workloads area read these numbers; they never recompute them. Pure.
 */
import type { EstateSpec } from "../estate.js";
import { allocate, type Allocation, type RegionDemand } from "./allocation.js";

export function regionDemands(spec: Pick<EstateSpec, "regions">): RegionDemand[] {
  return spec.regions.map((r) => ({
    id: r.id,
    history: r.demand.history,
    currentLoad: r.demand.currentLoad,
    capacity: r.capacity,
    location: r.location,
  }));
}

export interface EstateEscrowAllocation {
  sku: string;
  total: number;
  globalReserve: number;
  /** Region id → units of escrow the region starts with. */
  regions: Record<string, number>;
  detail: Allocation;
}

/** Escrow allocations per region, per SKU, from the allocation formula and the stack's escrow settings. */
export function escrowAllocations(spec: Pick<EstateSpec, "regions" | "runtime">): EstateEscrowAllocation[] {
  const escrow = spec.runtime.escrow;
  const demands = regionDemands(spec);
  return Object.entries(escrow.inventory)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([sku, total]) => {
      const detail = allocate(total, demands, { coefficients: escrow.allocation.coefficients, globalReserveFraction: escrow.allocation.globalReserveFraction });
      return { sku, total, globalReserve: detail.globalReserve, regions: Object.fromEntries(detail.regions.map((r) => [r.id, r.units])), detail };
    });
}
