/**
 * A restored transition log held to its anchors in the map (transitions-anchor.ts reads them; this judges them), apart
 * so a worker thread's log (transitions-worker.ts) judges without loading the map client.
 */
import type { EscrowTransitionLog } from "../transition-log.js";

/** A process's log as anchored in the map: origin, writer epoch, verifier key, size and root of its last durable checkpoint. */
export interface Anchor {
  v: "meridian-escrow-transitions/2";
  origin: string;
  epoch: number;
  vkey: string;
  size: number;
  root: string;
}

/** anchorCheck's second half: the restored log held to the anchors read (or the reason they could not be). */
export function judgeAnchors(anchors: Anchor[] | string, log: EscrowTransitionLog): string | undefined {
  if (typeof anchors === "string") return anchors;
  const size = log.sequencer.log.size;
  for (const a of anchors) {
    if (a.size > size) return `the map anchors size ${a.size} of this log (writer epoch ${a.epoch}), the store holds ${size} entries: it was restored from an older state`;
    if (a.size > 0 && Buffer.from(log.sequencer.log.rootAt(a.size)).toString("hex") !== a.root)
      return `the map anchors size ${a.size} of this log (writer epoch ${a.epoch}) with another root than the store's entries: a fork`;
  }
  return undefined;
}
