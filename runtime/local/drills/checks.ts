/**
 * The invariants a drill checks after its fault: inventory never oversold and no acknowledged sale lost
 * (escrow), and the proof log still consistent with the checkpoint taken before the fault.
 */
import { parseCheckpoint } from "../../prooflog/checkpoint.js";
import { LogClient } from "../../prooflog/client.js";
import { verifyConsistency } from "../../prooflog/proof/verify.js";
import type { LocalEstate } from "../estate.js";
import type { DrillTraffic } from "./workload.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export async function escrowInvariants(estate: LocalEstate, traffic: DrillTraffic): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const [sku, total] of Object.entries(estate.spec.runtime.escrow.inventory)) {
    const view = await estate.globals.escrow.service.inventory(sku);
    if (!view) {
      out.push({ name: `escrow ${sku}`, ok: false, detail: "item missing" });
      continue;
    }
    const acked = traffic.acknowledgedSales.get(sku) ?? 0;
    const conserved = view.sold + view.reserved + view.available === view.total;
    out.push({
      name: `escrow ${sku}: never oversold, no acknowledged sale lost`,
      ok: view.total === total && view.sold <= view.total && view.sold >= acked && conserved,
      detail: `total ${view.total}, sold ${view.sold} (acknowledged ${acked}), reserved ${view.reserved}, available ${view.available}`,
    });
  }
  return out;
}

/** The log's current checkpoint (size and root) — taken before the fault. */
export async function logCheckpoint(estate: LocalEstate): Promise<{ size: number; root: Uint8Array }> {
  const note = await new LogClient(estate.globals.log.url).checkpoint();
  const body = note.slice(0, note.indexOf("\n\n") + 1);
  const cp = parseCheckpoint(body);
  return { size: Number(cp.size), root: cp.root };
}

export async function logConsistency(estate: LocalEstate, before: { size: number; root: Uint8Array }): Promise<CheckResult> {
  const after = await logCheckpoint(estate);
  try {
    const proof = before.size === 0 ? [] : await new LogClient(estate.globals.log.url).consistencyProof(before.size, after.size);
    if (before.size > 0) verifyConsistency(before.size, after.size, proof, before.root, after.root);
    return { name: "proof log consistent across the fault", ok: after.size >= before.size, detail: `checkpoint ${before.size} → ${after.size}, consistency proof of ${proof.length} hashes verified` };
  } catch (err) {
    return { name: "proof log consistent across the fault", ok: false, detail: (err as Error).message };
  }
}
