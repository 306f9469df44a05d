/**
 * Where one read goes, given the replica's closed-timestamp watermark (§12.3.3), as a pure decision — the
 * PostgreSQL adapter (postgres.ts) only measures the watermark and carries the decision out.
 *
 * The watermark w is the newest timestamp the replica has closed: every write at or below w is in its
 * snapshot and no write at or below w can still arrive. So the replica may serve
 *  - bounded-staleness: its snapshot, when `now − w ≤ maxStaleness`;
 *  - exact (AS OF t): the value as of t, when t ≤ w;
 *  - eventual: its snapshot, whatever its age;
 * and never when the client's consistency token (the floor it has written or observed) is above w, nor a
 * strong read. Anything it may not serve goes to the primary, with the reason.
 */
import { compare, format, microsFromMs, type Timestamp } from "../timestamp.js";
import type { ReadConsistency } from "./policy.js";

export interface FollowerReadRequest {
  consistency: ReadConsistency;
  /** For exact reads: the AS OF timestamp. */
  asOf?: Timestamp;
  /** Read-your-writes floor from the client's consistency token. */
  minTimestamp?: Timestamp;
}

export type ReadRoute =
  /** `asOf` for exact reads; absent: the replica's snapshot as it is (the state at the watermark). */
  { target: "replica"; watermark: Timestamp; stalenessMs: number; asOf?: Timestamp } | { target: "primary"; asOf?: Timestamp; reason: string };

/**
 * `watermark` null: the replica is not configured, unreachable, or has published none yet.
 * `nowMs`: the local clock, against which staleness is measured.
 */
export function routeRead(req: FollowerReadRequest, watermark: Timestamp | null, nowMs: number): ReadRoute {
  const c = req.consistency;
  if (c.consistency === "exact" && req.asOf === undefined) throw new RangeError("an exact (AS OF) read needs the timestamp to read at");
  const asOf = c.consistency === "exact" ? { asOf: req.asOf! } : {};
  const primary = (reason: string): ReadRoute => ({ target: "primary", ...asOf, reason });
  if (c.consistency === "strong") return primary("strong reads are served by the primary");
  if (watermark === null) return primary("no replica watermark");
  if (req.minTimestamp !== undefined && compare(req.minTimestamp, watermark) > 0) {
    return primary(`the replica's watermark ${format(watermark)} is below the consistency token's ${format(req.minTimestamp)}`);
  }
  const stalenessMs = Math.max(0, (microsFromMs(nowMs) - watermark.wall) / 1000);
  switch (c.consistency) {
    case "bounded-staleness":
      if (stalenessMs > c.maxStalenessMs) return primary(`the replica is ${stalenessMs.toFixed(1)} ms behind, beyond the ${c.maxStalenessMs} ms bound`);
      return { target: "replica", watermark, stalenessMs };
    case "exact":
      if (compare(req.asOf!, watermark) > 0) return primary(`AS OF ${format(req.asOf!)} is above the replica's watermark ${format(watermark)}`);
      return { target: "replica", watermark, stalenessMs, asOf: req.asOf! };
    case "eventual":
      return { target: "replica", watermark, stalenessMs };
  }
}
