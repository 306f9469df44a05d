/**
 * Global reconciliation (outline §11.1.1 "reconciliation cycles"): verify an item's global count in the
 * store, compare each region's lease with what the region's process reports, and reclaim the leases of
 * regions that stopped renewing. Region-level drift is corrected by each region on its tick (the store
 * is the truth); this cycle reports the estate-wide view and the conservation check.
 */
import type { EscrowStore, InventoryAudit } from "./store.js";
import { conservationDrift } from "./store.js";

export interface RegionReport {
  region: string;
  held: number;
  free: number;
  reserved: number;
  committing: number;
}

export interface ReconciliationReport {
  sku: string;
  atMs: number;
  total: number;
  sold: number;
  pool: number;
  reclaimed: number;
  /** total − (pool + Σ held + sold): always 0 unless the store itself is corrupt. */
  conservationDrift: number;
  /** Regions whose reported held differs from the store's lease (in-flight commits excluded). */
  regionDrift: Record<string, { store: number; local: number }>;
  /** Units in leases of regions that reported nothing here (other processes, or dead ones before expiry). */
  unreported: number;
  ok: boolean;
}

export async function reconcile(store: EscrowStore, sku: string, nowMs: number, reports: readonly RegionReport[]): Promise<ReconciliationReport | null> {
  const reclaimed = await store.reclaimExpired(sku, nowMs);
  const audit: InventoryAudit | null = await store.audit(sku, nowMs);
  if (!audit) return null;
  const regionDrift: ReconciliationReport["regionDrift"] = {};
  const reported = new Set<string>();
  for (const r of reports) {
    reported.add(r.region);
    const lease = audit.leases[r.region];
    const storeHeld = lease?.live ? lease.held : 0;
    if (r.committing === 0 && storeHeld !== r.held) regionDrift[r.region] = { store: storeHeld, local: r.held };
  }
  let unreported = 0;
  for (const [region, lease] of Object.entries(audit.leases)) if (!reported.has(region)) unreported += lease.held;
  const drift = conservationDrift(audit);
  return {
    sku,
    atMs: nowMs,
    total: audit.total,
    sold: audit.sold,
    pool: audit.pool,
    reclaimed,
    conservationDrift: drift,
    regionDrift,
    unreported,
    ok: drift === 0 && audit.sold <= audit.total && Object.keys(regionDrift).length === 0,
  };
}
