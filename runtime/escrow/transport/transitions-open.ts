/**
 * The escrow's transition log as `escrow serve` opens it: kept in PostgreSQL when the escrow has it and a key file names
 * the log's key (one log across restarts, under one key: transitions-durable.ts), else this process's own; with a map,
 * a restored log is held to its anchors there (a stale snapshot of the store: a new log starts) and this process's
 * anchor is published under its own key (transitions-anchor.ts).
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../common/clock.js";
import type { MapClient } from "../../vmap/index.js";
import { readSignerKey } from "../transition-key.js";
import { anchorCheck, TransitionAnchor } from "./transitions-anchor.js";
import { incarnationLog, openDurableTransitionLog, type ServedTransitionLog } from "./transitions-durable.js";

export interface TransitionLogWiring {
  clock: Clock;
  regions: readonly string[];
  keyFile?: string;
  maxEntries: number;
  maxBacklog: number;
  /** The store's PostgreSQL, where a kept log lives (in `schema`). */
  postgres?: { url: string; schema: string; queryTimeoutMs?: number };
  map?: { client: MapClient; name: string; metrics: Registry };
  warn(err: Error, what: string): void;
}

export async function openTransitionLog(o: TransitionLogWiring): Promise<{ served: ServedTransitionLog; anchor?: TransitionAnchor }> {
  const options = {
    clock: o.clock,
    base: `meridian-escrow/${o.regions.join(".")}`,
    signerKey: o.keyFile && readSignerKey(o.keyFile),
    maxEntries: o.maxEntries,
    maxBacklog: o.maxBacklog,
    onError: (err: Error) => o.warn(err, "transition log"),
  };
  let served: ServedTransitionLog;
  if (o.postgres && o.keyFile) {
    const { PostgresTransitionLogStore } = await import("./transitions-pg.js");
    const store = new PostgresTransitionLogStore(o.postgres);
    served = await openDurableTransitionLog(store, { ...options, check: o.map && anchorCheck(o.map.client, o.map.name) }).catch(async (err: unknown) => {
      await store.close().catch(() => undefined);
      throw err;
    });
  } else served = incarnationLog(options);
  const map = o.map;
  const anchor =
    map &&
    new TransitionAnchor({
      client: map.client,
      map: map.name,
      served,
      onError: (err) => o.warn(err, "verifiable map unavailable: transition log not yet anchored (retrying)"),
      metrics: map.metrics,
    });
  return { served, anchor };
}
