/**
 * A served transition log opened where it runs (transitions-open.ts: the service's thread, or transitions-worker.ts's):
 * kept in PostgreSQL (transitions-durable.ts) or this process's own. Imports no map client, so a worker loads little.
 */
import type { Clock } from "../../common/clock.js";
import type { EscrowTransitionLog } from "../transition-log.js";
import { incarnationLog, openDurableTransitionLog, type ServedTransitionLog } from "./transitions-durable.js";

/** What opens a served log, wherever it runs: plain data (a worker thread is given it). */
export interface ServedLogSettings {
  /** `meridian-escrow/<regions>`. */
  base: string;
  signerKey?: string;
  maxEntries: number;
  maxBacklog: number;
  /** Kept in this PostgreSQL (with a key file only). */
  postgres?: { url: string; schema: string; queryTimeoutMs?: number };
}

/** Open the served log in this thread: kept (continued from the store, held to `check`) or this process's own. */
export async function openServedLog(
  s: ServedLogSettings,
  hooks: { clock: Clock; onError: (err: Error) => void; check?: (log: EscrowTransitionLog) => Promise<string | undefined> },
): Promise<ServedTransitionLog> {
  const options = { ...hooks, base: s.base, signerKey: s.signerKey, maxEntries: s.maxEntries, maxBacklog: s.maxBacklog };
  if (!s.postgres) return incarnationLog(options);
  const { PostgresTransitionLogStore } = await import("./transitions-pg.js");
  const store = new PostgresTransitionLogStore(s.postgres);
  return openDurableTransitionLog(store, options).catch(async (err: unknown) => {
    await store.close().catch(() => undefined);
    throw err;
  });
}
