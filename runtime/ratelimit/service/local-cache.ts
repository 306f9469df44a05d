/**
 * The local cache of over-limit counters (envoyproxy/ratelimit's LOCAL_CACHE_SIZE_IN_BYTES): once a
 * counter can admit nothing, requests for it are answered OVER_LIMIT here until it can admit again,
 * without a round trip — a flood of rejected traffic stops reaching Redis. An entry is added only when
 * the counter's answer says no hit can pass before `until`, so the cache never rejects what the store
 * would admit, only answers it sooner. A counter that is *over* its limit (envoyproxy/ratelimit's only
 * case) also rejects hits_addend 0 probes; one that is merely full lets probes through to the store.
 * Bounded: beyond `maxEntries` the oldest entries are dropped.
 */
export class OverLimitCache {
  private readonly until = new Map<string, number>();
  /** Keys whose entry also rejects cost-0 probes. */
  private readonly over = new Set<string>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 100_000) {}

  /** True when `key` is known to reject `cost` at `now`. */
  isOver(key: string, now: number, cost = 1): boolean {
    // Usually nothing is over: no key to hash.
    const t = this.until.size === 0 ? undefined : this.until.get(key);
    if (t === undefined) {
      this.misses++;
      return false;
    }
    if (t <= now) {
      this.delete(key);
      this.misses++;
      return false;
    }
    if (cost === 0 && !this.over.has(key)) {
      this.misses++;
      return false;
    }
    this.hits++;
    return true;
  }

  /** Remember that `key` admits no hit before `untilMs` (and no probe either when `overLimit`). */
  add(key: string, untilMs: number, overLimit = false): void {
    if (this.maxEntries <= 0) return;
    const prev = this.until.get(key);
    if (prev !== undefined && prev >= untilMs && (this.over.has(key) || !overLimit)) return;
    this.until.delete(key);
    if (this.until.size >= this.maxEntries) this.delete(this.until.keys().next().value!);
    this.until.set(key, Math.max(untilMs, prev ?? 0));
    if (overLimit) this.over.add(key);
  }

  untilOf(key: string): number | undefined {
    return this.until.get(key);
  }

  delete(key: string): boolean {
    this.over.delete(key);
    return this.until.delete(key);
  }

  entries(now: number): { key: string; untilMs: number }[] {
    return [...this.until].filter(([, t]) => t > now).map(([key, untilMs]) => ({ key, untilMs }));
  }

  get size(): number {
    return this.until.size;
  }
}
