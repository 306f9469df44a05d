/**
 * The escrow's transition log as `escrow serve` opens it: kept in PostgreSQL when the escrow has it and a key file names
 * the log's key (one log across restarts, under one key: transitions-durable.ts), else this process's own; with a map,
 * a restored log is held to its anchors there (a stale snapshot of the store: a new log starts) and this process's
 * anchor is published under its own key (transitions-anchor.ts).
 *
 * On a worker thread by default (transitions-thread.ts): the log hashes ~100 µs of CPU a sale (its state tree, its
 * Merkle tree, its entries' text and their writes to PostgreSQL), which on the sales' event loop halved what one process
 * sold (bench escrow, 2026-12-07: 3,650 / 4,055 sales/s with it, 6,083 / 6,283 without, same run); the worker does it
 * on another core, and the event loop only hands it each turn's events.
 */
import type { Registry } from "prom-client";
import type { Clock } from "../../common/clock.js";
import type { MapClient } from "../../vmap/index.js";
import { readSignerKey } from "../transition-key.js";
import type { TransitionSink } from "../transition-log.js";
import { anchorCheck, anchorsOrWhy, TransitionAnchor } from "./transitions-anchor.js";
import type { TransitionLogReader } from "./transitions-reader.js";
import { openServedLog, type ServedLogSettings } from "./transitions-open-served.js";
import { TransitionLogThread } from "./transitions-thread.js";

export interface TransitionLogWiring {
  clock: Clock;
  regions: readonly string[];
  keyFile?: string;
  maxEntries: number;
  maxBacklog: number;
  /** The store's PostgreSQL, where a kept log lives (in `schema`). */
  postgres?: { url: string; schema: string; queryTimeoutMs?: number };
  map?: { client: MapClient; name: string; metrics: Registry };
  /** Keep the log on a worker thread (default) or on the calling one. */
  thread?: "worker" | "main";
  warn(err: Error, what: string): void;
}

export async function openTransitionLog(o: TransitionLogWiring): Promise<{ served: TransitionLogReader; sink: TransitionSink; anchor?: TransitionAnchor }> {
  const settings: ServedLogSettings = {
    base: `meridian-escrow/${o.regions.join(".")}`,
    signerKey: o.keyFile && readSignerKey(o.keyFile),
    maxEntries: o.maxEntries,
    maxBacklog: o.maxBacklog,
    postgres: o.keyFile ? o.postgres : undefined,
  };
  const onError = (err: Error) => o.warn(err, "transition log");
  const map = o.map;
  let served: TransitionLogReader;
  let sink: TransitionSink;
  if ((o.thread ?? "worker") === "worker") {
    const thread = await TransitionLogThread.open(settings, { clock: o.clock, onError, anchors: map && ((origin) => anchorsOrWhy(map.client, map.name, origin)) });
    [served, sink] = [thread, thread];
  } else {
    const log = await openServedLog(settings, { clock: o.clock, onError, check: map && anchorCheck(map.client, map.name) });
    [served, sink] = [log, log.log];
  }
  const anchor =
    map &&
    new TransitionAnchor({
      client: map.client,
      map: map.name,
      served,
      onError: (err) => o.warn(err, "verifiable map unavailable: transition log not yet anchored (retrying)"),
      metrics: map.metrics,
    });
  return { served, sink, anchor };
}
