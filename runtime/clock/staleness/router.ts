/**
 * Per-request read routing (§12.3.3): serve from the nearby follower when its closed timestamp meets the
 * request's consistency, otherwise fall back to the leader — and say which happened and why.
 *
 *  - strong: the leader at a fresh HLC timestamp (refused while the skew monitor has the strong path frozen);
 *  - bounded-staleness: the follower at its closed timestamp if that is within maxStaleness of the local
 *    clock and not before the session's floor, else the leader;
 *  - exact (AS OF): the follower if the timestamp is closed there, else the leader; never in the future
 *    beyond max offset, never below the GC threshold;
 *  - eventual: the follower at everything it has applied.
 * Invariant: a follower never answers at a timestamp above its closed timestamp (except eventual, which
 * promises nothing), so its answer equals the leader's answer at the same timestamp.
 */
import type { Clock } from "../../common/clock.js";
import type { SkewMonitor } from "../skew.js";
import { compare, format, microsFromMs, type Timestamp } from "../timestamp.js";
import type { ReadConsistency } from "./policy.js";
import type { Follower, Leader } from "./replica.js";

export interface ReadRequest {
  key: string;
  consistency: ReadConsistency;
  /** For exact reads: the AS OF timestamp. */
  asOf?: Timestamp;
  /** Read-your-writes / monotonic floor from the client's session token. */
  minTimestamp?: Timestamp;
}

export interface ReadResult {
  value: string | null;
  /** Timestamp of the version returned (null when the key has no visible version). */
  versionTs: Timestamp | null;
  /** The snapshot the read was served at (null for eventual: the follower's whole applied log). */
  readTs: Timestamp | null;
  servedBy: "leader" | `follower:${string}`;
  /** Why the follower could not serve, when the leader did. */
  fallback?: string;
}

export class StrongPathFrozenError extends Error {
  override name = "StrongPathFrozenError";
}

export class FutureTimestampError extends Error {
  override name = "FutureTimestampError";
}

const LATEST: Timestamp = { wall: Number.MAX_SAFE_INTEGER, logical: 0 };

export class ReadRouter {
  constructor(
    private readonly leader: Leader,
    private readonly follower: Follower,
    /** The local node's clock (the follower's region): staleness is measured against it. */
    private readonly clock: Clock,
    private readonly skew?: SkewMonitor,
  ) {}

  read(req: ReadRequest): ReadResult {
    const c = req.consistency;
    switch (c.consistency) {
      case "strong":
        return this.fromLeader(req, this.strongTimestamp(req));
      case "eventual": {
        const v = this.follower.store.get(req.key, LATEST);
        return { value: v?.value ?? null, versionTs: v?.ts ?? null, readTs: null, servedBy: `follower:${this.follower.id}` };
      }
      case "bounded-staleness": {
        const closed = this.follower.closedTimestamp;
        const stalenessMs = (microsFromMs(this.clock.now()) - closed.wall) / 1000;
        // The fallback is a fresh leader read: fresher than any bound, and not gated by the skew
        // monitor — a bounded-staleness read never needed the clock-uncertainty guarantee.
        if (stalenessMs > c.maxStalenessMs) return this.fromLeader(req, this.leaderTimestamp(req), `follower closed timestamp is ${stalenessMs.toFixed(1)} ms old, beyond ${c.maxStalenessMs} ms`);
        if (req.minTimestamp !== undefined && compare(closed, req.minTimestamp) < 0)
          return this.fromLeader(req, this.leaderTimestamp(req), `follower closed timestamp ${format(closed)} is before the session's ${format(req.minTimestamp)}`);
        return this.fromFollower(req, closed);
      }
      case "exact": {
        const asOf = req.asOf;
        if (asOf === undefined) throw new RangeError("an exact read needs asOf");
        if (asOf.wall > microsFromMs(this.clock.now()) + this.leader.hlc.maxOffsetMicros) {
          throw new FutureTimestampError(`AS OF ${format(asOf)} is in the future beyond the max offset`);
        }
        if (compare(asOf, this.follower.closedTimestamp) <= 0) return this.fromFollower(req, asOf);
        // The leader forwards its clock so no later write can land at or below asOf.
        this.leader.hlc.update(asOf);
        return this.fromLeader(req, asOf, `AS OF ${format(asOf)} is not yet closed on the follower`);
      }
    }
  }

  private strongTimestamp(req: ReadRequest): Timestamp {
    if (this.skew !== undefined && !this.skew.allowsStrong()) throw new StrongPathFrozenError(`strong reads are frozen: clock skew state is ${this.skew.state}`);
    return this.leaderTimestamp(req);
  }

  /** A fresh leader timestamp, forwarded past the session floor (read-your-writes). */
  private leaderTimestamp(req: ReadRequest): Timestamp {
    if (req.minTimestamp !== undefined) this.leader.hlc.updateAndCheckMaxOffset(req.minTimestamp);
    return this.leader.hlc.now();
  }

  private fromLeader(req: ReadRequest, ts: Timestamp, fallback?: string): ReadResult {
    const v = this.leader.store.get(req.key, ts);
    return { value: v?.value ?? null, versionTs: v?.ts ?? null, readTs: ts, servedBy: "leader", ...(fallback ? { fallback } : {}) };
  }

  private fromFollower(req: ReadRequest, ts: Timestamp): ReadResult {
    const v = this.follower.store.get(req.key, ts);
    return { value: v?.value ?? null, versionTs: v?.ts ?? null, readTs: ts, servedBy: `follower:${this.follower.id}` };
  }
}
