/**
 * Global reconciliation (outline §11.1.1 "reconciliation cycles"): verify an item's global count in the
 * store, compare each region's lease with what the region's process reports, and reclaim the leases of
 * regions that stopped renewing. Region-level drift is corrected by each region on its tick (the store
 * is the truth); this cycle reports the estate-wide view and the conservation check.
 */
import type { EscrowStore, InventoryAudit } from "./store/port.js";
import { conservationDrift } from "./store/port.js";

export interface RegionReport {
  region: string;
  held: number;
  free: number;
  reserved: number;
  committing: number;
  /** Units transferred in that the region has credited; the store's count may be ahead (in transit until its next renewal). */
  received?: number;
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
  /** Units transferred to a reporting region that it credits on its next renewal. */
  inTransit: number;
  ok: boolean;
}

export async function reconcile(store: EscrowStore, sku: string, nowMs: number, reports: readonly RegionReport[]): Promise<ReconciliationReport | null> {
  const reclaimed = await store.reclaimExpired(sku, nowMs);
  const audit: InventoryAudit | null = await store.audit(sku, nowMs);
  if (!audit) return null;
  const regionDrift: ReconciliationReport["regionDrift"] = {};
  const reported = new Set<string>();
  let inTransit = 0;
  for (const r of reports) {
    reported.add(r.region);
    const lease = audit.leases[r.region];
    const storeHeld = lease?.live ? lease.held : 0;
    const transit = lease?.live && r.received !== undefined ? Math.max(0, lease.received - r.received) : 0;
    inTransit += transit;
    if (r.committing === 0 && storeHeld !== r.held + transit) regionDrift[r.region] = { store: storeHeld, local: r.held + transit };
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
    inTransit,
    ok: drift === 0 && audit.sold <= audit.total && Object.keys(regionDrift).length === 0,
  };
}
