/**
 * A small MVCC key-value store keyed by HLC timestamps: every write adds a version, a read at timestamp t
 * sees the newest version at or below t (a consistent snapshot), and version GC drops what no read at
 * or above the GC threshold can see. Invariants: versions of a key are strictly increasing in timestamp;
 * a read below the GC threshold is refused rather than answered from a pruned history; GC never changes
 * the answer to a read at or above the threshold.
 */
import { compare, format, type Timestamp, ZERO } from "../timestamp.js";

export interface Version {
  ts: Timestamp;
  /** null is a deletion (tombstone). */
  value: string | null;
}

export class WriteTooOldError extends Error {
  override name = "WriteTooOldError";
}

export class ReadBelowGcThresholdError extends Error {
  override name = "ReadBelowGcThresholdError";
  constructor(
    readonly readTs: Timestamp,
    readonly threshold: Timestamp,
  ) {
    super(`read at ${format(readTs)} is below the GC threshold ${format(threshold)}: that history has been pruned`);
  }
}

export class MvccStore {
  private readonly versions = new Map<string, Version[]>();
  private threshold: Timestamp = ZERO;

  get gcThreshold(): Timestamp {
    return this.threshold;
  }

  /** Add a version; it must be newer than the key's latest (the leader orders writes, replicas replay them). */
  put(key: string, value: string | null, ts: Timestamp): void {
    const list = this.versions.get(key) ?? [];
    const last = list[list.length - 1];
    if (last !== undefined && compare(ts, last.ts) <= 0) throw new WriteTooOldError(`write to "${key}" at ${format(ts)} is not after its latest version ${format(last.ts)}`);
    list.push({ ts, value });
    this.versions.set(key, list);
  }

  /** The newest version of `key` at or below `readTs`, or null if none (or it is a deletion). */
  get(key: string, readTs: Timestamp): Version | null {
    if (compare(readTs, this.threshold) < 0) throw new ReadBelowGcThresholdError(readTs, this.threshold);
    const list = this.versions.get(key);
    if (list === undefined) return null;
    // Binary search for the last version with ts ≤ readTs.
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compare(list[mid]!.ts, readTs) <= 0) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const v = found < 0 ? null : list[found]!;
    return v === null || v.value === null ? null : v;
  }

  /** Every version of a key (oldest first), for time-travel inspection. */
  history(key: string): readonly Version[] {
    return this.versions.get(key) ?? [];
  }

  /**
   * Prune versions invisible at or above `threshold`: for each key keep the newest version ≤ threshold
   * (dropped too if it is a tombstone) and everything newer. Returns the number of versions removed.
   */
  gc(threshold: Timestamp): number {
    if (compare(threshold, this.threshold) <= 0) return 0;
    this.threshold = threshold;
    let removed = 0;
    for (const [key, list] of this.versions) {
      let keepFrom = 0;
      for (let i = 0; i < list.length; i++) if (compare(list[i]!.ts, threshold) <= 0) keepFrom = i;
      if (keepFrom > 0) {
        list.splice(0, keepFrom);
        removed += keepFrom;
      }
      if (list[0] !== undefined && list[0].value === null && compare(list[0].ts, threshold) <= 0) {
        list.shift();
        removed++;
      }
      if (list.length === 0) this.versions.delete(key);
    }
    return removed;
  }

  get versionCount(): number {
    let n = 0;
    for (const list of this.versions.values()) n += list.length;
    return n;
  }
}
