/**
 * The invariants a drill checks after its fault, against what really happened — every sale a buyer was
 * told about, every audit entry the log acknowledged — not against counts the system reports about itself:
 * - escrow: the store's conservation law holds, nothing is sold beyond the inventory, and every
 *   acknowledged sale is in the store's ledger under its id with its quantity;
 * - the dead region's unconfirmed units go back to the pool once its lease expires;
 * - the proof log: the checkpoint after the fault is consistent with the one before it (RFC 6962
 *   consistency proof), and every acknowledged audit entry is included, byte for byte, at its index.
 */
import { conservationDrift } from "../../escrow/index.js";
import { parseCheckpoint, LogClient, verifyConsistency, verifyInclusion, leafHash } from "../../prooflog/index.js";
import type { LocalEstate } from "../estate.js";
import type { DrillTraffic } from "./workload.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export async function escrowInvariants(estate: LocalEstate, traffic: DrillTraffic): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const store = estate.globals.escrow.store;
  for (const [sku, total] of Object.entries(estate.spec.runtime.escrow.inventory)) {
    const audit = await store.audit(sku, Date.now());
    if (!audit) {
      out.push({ name: `escrow ${sku}`, ok: false, detail: "the item is missing from the store" });
      continue;
    }
    const drift = conservationDrift(audit);
    const held = Object.values(audit.leases).reduce((s, l) => s + l.held, 0);
    out.push({
      name: `escrow ${sku}: never oversold, units conserved`,
      ok: audit.total === total && audit.sold <= audit.total && drift === 0,
      detail: `total ${audit.total}, sold ${audit.sold}, pool ${audit.pool}, held ${held} (drift ${drift})`,
    });
    const acked = traffic.sales.filter((s) => s.sku === sku);
    const missing: string[] = [];
    for (const sale of acked) {
      const record = await store.findSale(sku, sale.id);
      if (!record || record.qty !== 1 || record.region !== sale.region) missing.push(sale.id);
    }
    out.push({
      name: `escrow ${sku}: no acknowledged sale lost`,
      ok: missing.length === 0 && audit.sold >= acked.length,
      detail: `${acked.length} sales acknowledged to buyers, ${acked.length - missing.length} found in the ledger${missing.length ? `; missing ${missing.slice(0, 5).join(", ")}` : ""}; ledger sold ${audit.sold}`,
    });
  }
  return out;
}

/** After the dead region's lease expires, its held units are back in the pool (the survivors' ticks reclaim them). */
export async function deadLeaseReclaimed(estate: LocalEstate, region: string): Promise<CheckResult> {
  const details: string[] = [];
  let ok = true;
  for (const sku of Object.keys(estate.spec.runtime.escrow.inventory)) {
    const lease = (await estate.globals.escrow.store.audit(sku, Date.now()))?.leases[region];
    const back = !lease || !lease.live || lease.held === 0;
    ok &&= back && lease?.live !== true;
    details.push(`${sku}: ${lease ? `lease ${lease.live ? "live" : "expired"}, ${lease.held} held` : "no lease"}`);
  }
  return { name: `${region}'s unconfirmed units returned to the pool after its lease expired`, ok, detail: details.join("; ") };
}

/** The log's current checkpoint (size and root). */
export async function logCheckpoint(estate: LocalEstate): Promise<{ size: number; root: Uint8Array }> {
  const note = await new LogClient(estate.globals.log.url).checkpoint();
  const cp = parseCheckpoint(note.slice(0, note.indexOf("\n\n") + 1));
  return { size: Number(cp.size), root: cp.root };
}

export async function logConsistency(estate: LocalEstate, before: { size: number; root: Uint8Array }, traffic: DrillTraffic): Promise<CheckResult[]> {
  const client = new LogClient(estate.globals.log.url);
  const after = await logCheckpoint(estate);
  const out: CheckResult[] = [];
  try {
    const proof = before.size === 0 ? [] : await client.consistencyProof(before.size, after.size);
    if (before.size > 0) verifyConsistency(before.size, after.size, proof, before.root, after.root);
    out.push({
      name: "proof log consistent across the fault",
      ok: after.size >= before.size,
      detail: `checkpoint ${before.size} → ${after.size}, consistency proof of ${proof.length} hashes verified`,
    });
  } catch (err) {
    out.push({ name: "proof log consistent across the fault", ok: false, detail: (err as Error).message });
  }
  const bad: string[] = [];
  for (const { index, entry } of traffic.logged) {
    try {
      if (index >= after.size) throw new Error(`index ${index} beyond size ${after.size}`);
      verifyInclusion(index, after.size, leafHash(entry), await client.inclusionProof(index, after.size), after.root);
    } catch (err) {
      bad.push(`${index}: ${(err as Error).message}`);
    }
  }
  out.push({
    name: "every acknowledged audit entry is in the log",
    ok: bad.length === 0,
    detail: `${traffic.logged.length - bad.length} of ${traffic.logged.length} inclusion proofs verified against checkpoint ${after.size}${bad.length ? `; failed ${bad.slice(0, 3).join("; ")}` : ""}`,
  });
  return out;
}
