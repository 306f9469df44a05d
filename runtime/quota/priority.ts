/**
 * Priority tiers with starvation prevention by ageing: an item's effective priority improves by one
 * tier for every `ageingMs` it has waited, so under any stream of higher-tier work a waiting item is
 * served after at most tier × ageingMs plus the items already ahead of it. Ties go to the earlier
 * arrival. Tier 0 is the highest. The clock is injected.
 */
import type { Clock } from "../common/clock.js";

interface Waiting<T> {
  tier: number;
  enqueuedAt: number;
  seq: number;
  value: T;
}

export class AgeingPriorityQueue<T> {
  private items: Waiting<T>[] = [];
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    readonly tiers: number,
    private readonly ageingMs: number,
  ) {
    if (!Number.isInteger(tiers) || tiers < 1) throw new RangeError(`tiers is ${tiers}; expected an integer ≥ 1`);
    if (!(ageingMs > 0)) throw new RangeError(`ageingMs is ${ageingMs}; expected > 0`);
  }

  enqueue(tier: number, value: T): void {
    if (!Number.isInteger(tier) || tier < 0 || tier >= this.tiers) throw new RangeError(`tier is ${tier}; expected an integer 0–${this.tiers - 1}`);
    this.items.push({ tier, enqueuedAt: this.clock.now(), seq: this.seq++, value });
  }

  /** The effective tier now: promoted one tier per ageingMs waited, never above tier 0. */
  effectiveTier(tier: number, enqueuedAt: number): number {
    return Math.max(0, tier - Math.floor((this.clock.now() - enqueuedAt) / this.ageingMs));
  }

  dequeue(): { value: T; tier: number; waitedMs: number } | undefined {
    if (this.items.length === 0) return undefined;
    let best = 0;
    let bestTier = Infinity;
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i]!;
      const e = this.effectiveTier(it.tier, it.enqueuedAt);
      if (e < bestTier || (e === bestTier && it.seq < this.items[best]!.seq)) [best, bestTier] = [i, e];
    }
    const [it] = this.items.splice(best, 1);
    return { value: it!.value, tier: it!.tier, waitedMs: this.clock.now() - it!.enqueuedAt };
  }

  get length(): number {
    return this.items.length;
  }
}
