/**
 * The waiting room (outline §11.1.4 queue fairness, progressive admission): buyers who arrive while
 * checkouts are full wait here and are let in batch by batch. Three policies:
 * - fifo: arrival order, ties (same millisecond) broken by a random key drawn at arrival — nobody
 *   gains by hammering, nobody is ordered by connection luck;
 * - lottery: every waiting buyer equally likely, whenever they arrived (a drawing at each batch);
 * - weighted: premium tiers more likely — weighted sampling without replacement (Efraimidis–Spirakis
 *   keys u^(1/w)), so a weight-2 buyer is twice as likely as weight-1 to be drawn first.
 * Admitted buyers hold a pass for `passTtlMs`. Pure: time and randomness are passed in.
 *
 * Invariant: a buyer is in the room at most once; each admission removes exactly the buyers it returns.
 */

export type QueuePolicy = "fifo" | "lottery" | "weighted";

interface Waiter {
  user: string;
  arrivedAtMs: number;
  tiebreak: number;
  weight: number;
}

export class WaitingRoom {
  private readonly waiting = new Map<string, Waiter>();
  private readonly passes = new Map<string, number>();

  constructor(
    readonly policy: QueuePolicy,
    private readonly rng: () => number,
    readonly passTtlMs = 30_000,
  ) {}

  get size(): number {
    return this.waiting.size;
  }
  get outstandingPasses(): number {
    return this.passes.size;
  }

  /** Join (idempotent: a buyer who asks again keeps their place). Returns the 1-based position for fifo, else the room size. */
  join(user: string, nowMs: number, weight = 1): number {
    if (!this.waiting.has(user)) this.waiting.set(user, { user, arrivedAtMs: nowMs, tiebreak: this.rng(), weight: Math.max(weight, 1e-9) });
    if (this.policy !== "fifo") return this.waiting.size;
    const me = this.waiting.get(user)!;
    let ahead = 0;
    for (const w of this.waiting.values()) if (before(w, me)) ahead++;
    return ahead + 1;
  }

  isWaiting(user: string): boolean {
    return this.waiting.has(user);
  }

  hasPass(user: string, nowMs: number): boolean {
    const until = this.passes.get(user);
    return until !== undefined && until > nowMs;
  }

  /** Use a pass (the buyer's reservation went through). */
  consumePass(user: string): void {
    this.passes.delete(user);
  }

  /** Admit up to n buyers by the policy; they get passes. */
  admit(n: number, nowMs: number): string[] {
    for (const [user, until] of this.passes) if (until <= nowMs) this.passes.delete(user);
    if (n <= 0 || this.waiting.size === 0) return [];
    const all = [...this.waiting.values()];
    let chosen: Waiter[];
    if (this.policy === "fifo") chosen = all.sort((a, b) => (before(a, b) ? -1 : 1)).slice(0, n);
    else if (this.policy === "lottery")
      chosen = all
        .map((w) => ({ w, k: this.rng() }))
        .sort((a, b) => a.k - b.k)
        .slice(0, n)
        .map((x) => x.w);
    // Efraimidis–Spirakis: the n largest keys u^(1/w) are a weighted sample without replacement.
    else
      chosen = all
        .map((w) => ({ w, k: Math.pow(this.rng(), 1 / w.weight) }))
        .sort((a, b) => b.k - a.k)
        .slice(0, n)
        .map((x) => x.w);
    for (const w of chosen) {
      this.waiting.delete(w.user);
      this.passes.set(w.user, nowMs + this.passTtlMs);
    }
    return chosen.map((w) => w.user);
  }

  leave(user: string): void {
    this.waiting.delete(user);
  }
}

function before(a: Waiter, b: Waiter): boolean {
  return a.arrivedAtMs < b.arrivedAtMs || (a.arrivedAtMs === b.arrivedAtMs && a.tiebreak < b.tiebreak);
}
