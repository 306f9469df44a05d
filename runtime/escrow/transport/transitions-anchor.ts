/**
 * The transition log's anchors in the verifiable map (the escrow's map, beside the balances map-publisher.ts writes):
 * a process's log as of its last durable checkpoint — origin, writer epoch, verifier key, size, root — so a checkpoint
 * the escrow serves later can be held to what the map's proof log recorded.
 *
 * Each process anchors under a key of its own: `.transitions/~<hex>`, a hash of its log's origin and writer epoch
 * (transitions-durable.ts; 0 for a log of this process alone), and owns that key only (its publisher's prefix is the
 * whole key). So two processes serving one region — a rolling restart, two replicas by mistake — never overwrite or
 * delete each other's anchor, where both once wrote `<region>/.transitions` and the last write won. The anchors of
 * one kept log (one per writer epoch) are all prefixes of that log; `readAnchors` lists them.
 *
 * At start a kept log is held to its anchors (`anchorCheck`): a store holding less than an anchor says, or another
 * root at an anchored size, was restored from a stale snapshot or forked, and is not continued (transitions-durable.ts).
 */
import type { Registry } from "prom-client";
import { mapKeyOf, MapPublisher, type MapClient } from "../../vmap/index.js";
import type { EscrowTransitionLog } from "../transition-log.js";
import type { TransitionLogReader } from "./transitions-reader.js";
import { judgeAnchors, type Anchor } from "./transitions-anchor-judge.js";

const PREFIX = ".transitions/";

/** Publishes this process's anchor (poked after each durable sync); a map outage only delays it. */
export class TransitionAnchor {
  private readonly publisher: MapPublisher;

  constructor(o: { client: MapClient; map: string; served: TransitionLogReader; onError: (err: Error) => void; metrics?: Registry }) {
    const { served } = o;
    const key = mapKeyOf(`${served.origin}#${served.epoch}`, PREFIX);
    this.publisher = new MapPublisher({
      client: o.client,
      map: o.map,
      prefix: key,
      view: async () => {
        const cp = served.current();
        const anchor: Anchor = { v: "meridian-escrow-transitions/2", origin: cp.origin, epoch: served.epoch, vkey: cp.vkey, size: cp.size, root: cp.root };
        return new Map([[key, JSON.stringify(anchor)]]);
      },
      onError: o.onError,
      metrics: o.metrics && { registry: o.metrics, name: "meridian_escrow_transitions_anchor", what: "transition log anchor" },
    });
  }

  poke(): void {
    this.publisher.poke();
  }

  close(): Promise<void> {
    return this.publisher.close();
  }
}

/** Every anchor of `origin` the map holds (the range read is proven complete against the map's root). */
async function readAnchors(client: MapClient, map: string, origin: string): Promise<Anchor[]> {
  const out: Anchor[] = [];
  for (const [, v] of (await client.readPrefix(map, PREFIX)).entries) {
    try {
      const a = JSON.parse(v.toString("utf8")) as Anchor;
      if (a.v === "meridian-escrow-transitions/2" && a.origin === origin && Number.isSafeInteger(a.size) && a.size >= 0) out.push(a);
    } catch {
      // not an anchor: no part of this log
    }
  }
  return out;
}

/**
 * Why the restored `log` must not be continued, judged by the map's anchors of its origin: one anchors a larger size
 * (the store is behind: a stale snapshot) or another root at its size (a fork); or the map cannot be read (then
 * nothing shows the store is current, and a new log is the safe side). Undefined: continue.
 */
export function anchorCheck(client: MapClient, map: string): (log: EscrowTransitionLog) => Promise<string | undefined> {
  return async (log) => judgeAnchors(await anchorsOrWhy(client, map, log.sequencer.origin), log);
}

/** The anchors of `origin`, or why the map could not be read (anchorCheck's first half; a worker's log asks its parent). */
export async function anchorsOrWhy(client: MapClient, map: string, origin: string): Promise<Anchor[] | string> {
  try {
    return await readAnchors(client, map, origin);
  } catch (e) {
    return `the map ${map} could not be read to check the stored log against its anchors (${(e as Error).message})`;
  }
}
