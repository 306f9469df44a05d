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
import { monitorService } from "../prooflog/services.js";
import type { groupJson } from "../tbls/index.js";
import type { LocalService } from "./trust-services.js";

export interface LocalMonitorOptions {
  spec: EstateSpec;
  /** The local proof log: its base URL, verifier key, the witnesses cosigning its checkpoints and their threshold group. */
  log: {
    url: string;
    verifierKey: string;
    witnesses: { name: string; url: string; verifierKey: string }[];
    threshold: { name: string; group: ReturnType<typeof groupJson>; groupFile: string };
  };
  /** How often it polls the log (the estate's rendered interval when not given). */
  intervalMs?: number;
}

export async function startMonitor(o: LocalMonitorOptions): Promise<LocalService> {
  // The run's group in place of the stack's pinned one: the monitor demands its signature, as the estate's does.
  const prooflog = {
    ...o.spec.runtime.prooflog,
    verifierKey: o.log.verifierKey,
    witnesses: o.log.witnesses.map((w) => ({ name: w.name, url: w.url, vkey: w.verifierKey })),
    witnessThreshold: { name: o.log.threshold.name, group: { ...o.log.threshold.group, scheme: "meridian-tbls/v1" as const } },
  };
  const rendered = monitorServiceConfig({ ...o.spec, runtime: { ...o.spec.runtime, prooflog } }, ledgerRegion(o.spec), o.log.threshold.groupFile);
  if (rendered === null) throw new Error("the local monitor has no verifier key for the log");
  const svc = await startService(
    monitorService,
    { ...rendered, log: o.log.url, peers: [], ...(o.intervalMs !== undefined && { intervalMs: o.intervalMs }), server: { host: "127.0.0.1", port: 0 } },
    { clock: systemClock, processMetrics: false },
  );
  return { url: svc.url, store: "memory (a compact range of the log, and the evidence)", close: () => svc.close() };
}
