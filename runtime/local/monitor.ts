/**
 * The proof log monitor of `meridian local` (`meridian log monitor`), configured as the estate renders each region's
 * (model/workloads/config.ts monitorServiceConfig) from the local stack with this run's log key and witnesses in
 * place of the stack's: it follows the local log, checks every checkpoint under the log's key and the witness policy
 * the log runs with and every entry against the signed root, and publishes equivocation evidence (GET /v1/evidence,
 * and on /metrics). The estate runs one per region, gossiping; one machine runs one, with no peers.
 */
import type { EstateSpec } from "../../model/estate.js";
import { ledgerRegion, monitorServiceConfig } from "../../model/workloads/config.js";
import { systemClock } from "../common/clock.js";
import { startService } from "../kit/index.js";
import { monitorService } from "../prooflog/index.js";
import type { LocalService } from "./trust-services.js";

export interface LocalMonitorOptions {
  spec: EstateSpec;
  /** The local proof log: its base URL, verifier key and the witnesses cosigning its checkpoints. */
  log: { url: string; verifierKey: string; witnesses: { name: string; url: string; verifierKey: string }[] };
  /** How often it polls the log (the estate's rendered interval when not given). */
  intervalMs?: number;
}

export async function startMonitor(o: LocalMonitorOptions): Promise<LocalService> {
  // The local log runs no threshold group (global-services.ts), so its monitor demands none.
  const { witnessThreshold: _none, ...stack } = o.spec.runtime.prooflog;
  const prooflog = {
    ...stack,
    verifierKey: o.log.verifierKey,
    witnesses: o.log.witnesses.map((w) => ({ name: w.name, url: w.url, vkey: w.verifierKey })),
  };
  const rendered = monitorServiceConfig({ ...o.spec, runtime: { ...o.spec.runtime, prooflog } }, ledgerRegion(o.spec), "");
  if (rendered === null) throw new Error("the local monitor has no verifier key for the log");
  const svc = await startService(
    monitorService,
    { ...rendered, log: o.log.url, peers: [], ...(o.intervalMs !== undefined && { intervalMs: o.intervalMs }), server: { host: "127.0.0.1", port: 0 } },
    { clock: systemClock, processMetrics: false },
  );
  return { url: svc.url, store: "memory (a compact range of the log, and the evidence)", close: () => svc.close() };
}
