/**
 * Leader and follower replicas with closed timestamps (CockroachDB's follower reads, §12.3.1).
 *
 * The leader orders writes with its HLC and appends them to a log. Periodically it *closes* a
 * timestamp: it promises never to accept another write at or below `closed = now − targetLag`, and
 * publishes (closed, log index) — the log index being everything written so far. A follower that has
 * applied at least that index may serve any read at or below `closed` from its own copy: no write can
 * still arrive that such a read should have seen. Invariants: the leader's closed timestamp never
 * regresses and every write lands strictly above it; a follower's closed timestamp is the newest one
 * whose log index it has applied ("applied index minimum").
 */
import type { HybridClock } from "../hlc.js";
import { addMicros, compare, max, next, type Timestamp, ZERO } from "../timestamp.js";
import { MvccStore } from "./mvcc.js";

export interface LogEntry {
  index: number;
  key: string;
  value: string | null;
  ts: Timestamp;
}

export interface ClosedTimestampUpdate {
  closed: Timestamp;
  /** The log index the follower must have applied before the closed timestamp holds for it. */
  index: number;
}

export class Leader {
  readonly store = new MvccStore();
  private readonly log: LogEntry[] = [];
  private closed: Timestamp = ZERO;

  constructor(
    readonly hlc: HybridClock,
    /** CockroachDB `kv.closed_timestamp.target_duration` (default 3 s), ms. */
    readonly targetLagMs = 3000,
  ) {}

  /** Write at a fresh HLC timestamp, always above the closed timestamp; returns the commit timestamp. */
  write(key: string, value: string | null): Timestamp {
    const ts = max(this.hlc.now(), next(this.closed));
    this.hlc.update(ts);
    this.store.put(key, value, ts);
    this.log.push({ index: this.log.length + 1, key, value, ts });
    return ts;
  }

  /** Close out `now − targetLag` (never backwards) and publish it with the current log index. */
  closeTimestamp(): ClosedTimestampUpdate {
    const candidate = addMicros(this.hlc.now(), -this.targetLagMs * 1000);
    if (compare(candidate, this.closed) > 0) this.closed = candidate;
    return { closed: this.closed, index: this.log.length };
  }

  get closedTimestamp(): Timestamp {
    return this.closed;
  }

  get appliedIndex(): number {
    return this.log.length;
  }

  entriesAfter(index: number, limit = Number.POSITIVE_INFINITY): LogEntry[] {
    return this.log.slice(index, Math.min(this.log.length, index + limit));
  }
}

export class Follower {
  readonly store = new MvccStore();
  private applied = 0;
  private closed: Timestamp = ZERO;
  /** Closed-timestamp updates received before their log index was applied. */
  private pending: ClosedTimestampUpdate[] = [];

  constructor(readonly id: string) {}

  /** Apply replicated entries in order; gaps are refused so the store is always a log prefix. */
  apply(entries: readonly LogEntry[]): void {
    for (const e of entries) {
      if (e.index <= this.applied) continue;
      if (e.index !== this.applied + 1) throw new RangeError(`follower ${this.id} at index ${this.applied} cannot apply entry ${e.index}: the log has a gap`);
      this.store.put(e.key, e.value, e.ts);
      this.applied = e.index;
    }
    this.promote();
  }

  receiveClosed(update: ClosedTimestampUpdate): void {
    this.pending.push(update);
    this.promote();
  }

  /** Pull what is missing from the leader (up to `limit` entries) — replication with adjustable lag. */
  catchUp(leader: Leader, limit?: number): void {
    this.apply(leader.entriesAfter(this.applied, limit));
  }

  get closedTimestamp(): Timestamp {
    return this.closed;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  private promote(): void {
    const ready = this.pending.filter((u) => u.index <= this.applied);
    this.pending = this.pending.filter((u) => u.index > this.applied);
    for (const u of ready) if (compare(u.closed, this.closed) > 0) this.closed = u.closed;
  }
}
