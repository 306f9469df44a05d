/**
 * In-memory store (its counters and in-place stepping: memory-slots.ts). Expired slots are swept lazily
 * at most every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's cost is
 * amortised. Decisions are synchronous, so requests and hierarchies are atomic within the process by
 * construction.
 *
 * `decideChecksShared(checks, policy, now)` is what the RLS service calls: a check whose levels all
 * admit is stepped and charged in place and answered from the store's scratch records (valid until its
 * next call: the service reads them in the same turn), so that path allocates nothing.
 * `decideChecksSync` is the same answer copied into fresh objects, `decide` that behind the store port's
 * promise, and `decideSync(levels, cost, now)` the embedded API for one hierarchy (user → app → tenant).
 */
import { step } from "../core/algorithms.js";
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import { Scratch } from "../core/in-place.js";
import type { Decision } from "../core/limit.js";
import { decideChecks, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../core/request.js";
import { MemorySlots } from "./memory-slots.js";
import type { RateLimitStore, SyncDecisions } from "./port.js";
import { answerOf, decisionsOf } from "./scratch-answers.js";

/** A check's in-place answer, reused: `levels` are the store's scratch records. */
interface SharedResult extends CheckResult {
  levels: Scratch[];
}

export class MemoryStore extends MemorySlots implements RateLimitStore, SyncDecisions {
  private lastSweep = -Infinity;
  /** By depth: the one-check results array answering that many levels admitted in place. */
  private readonly sharedOne: SharedResult[][] = [];

  constructor(private readonly sweepIntervalMs = 5_000) {
    super();
  }

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) {
      if (this.lastSweep !== -Infinity) this.sweep(nowMs);
      this.lastSweep = nowMs;
    }
  }

  /** Decide a hierarchy: the overall answer and each level's own. */
  decideSync(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    if (levels.length === 0 || !Number.isInteger(cost) || cost < 0) checkLevels(levels, cost);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
    const blockedBy = this.admitInPlace(levels, cost, nowMs, 0);
    if (blockedBy < -1) return this.decideGeneric(levels, cost, nowMs);
    const n = levels.length;
    return answerOf(this.scratch, n, blockedBy, decisionsOf(this.scratch, 0, n));
  }

  /** decideSync for hierarchies with a sliding algorithm: the pure cores' objects. */
  private decideGeneric(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    checkLevels(levels, cost);
    const { decision, commits } = decideLevels(levels, (key) => this.read(key, nowMs), cost, nowMs);
    for (const c of commits) this.write(c.key, c.state, nowMs + Math.max(1, c.ttlMs));
    return decision;
  }

  /**
   * Decide a request as `decideChecks` does. In-place answers are the store's own records, overwritten
   * by its next decision: read them before calling it again (decideChecksSync copies them).
   */
  decideChecksShared(checks: readonly Check[], policy: ChargePolicy, nowMs: number): readonly CheckResult[] {
    const n = checks.length;
    if (n === 1) {
      // validateCheck's checks are stepLevels' (limits, duplicate keys by slot) before anything changes:
      // whatever it does not admit in place is validated whole and decided by the pure cores. The sweep
      // comes after: it drops only states already expired, which no decision at nowMs reads or writes.
      const c = checks[0]!;
      const levels = c.levels;
      const cost = c.cost;
      if (levels.length > 0 && Number.isInteger(cost) && cost >= 0 && this.admitInPlace(levels, cost, nowMs, 0) === -1) {
        if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
        return this.sharedResults(levels.length);
      }
      validateCheck(c);
      if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
      return this.decideChecksGeneric(checks, policy, nowMs);
    }
    for (let i = 0; i < n; i++) validateCheck(checks[i]!);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
    // Atomic across several checks charges nothing when any is refused: the request must be decided whole.
    if (policy === "atomic" && n > 1) return this.decideChecksGeneric(checks, policy, nowMs);
    // Otherwise each check stands alone, seeing the charges of those before it. A check whose levels all
    // admit (the common answer; shadow or enforced alike) is stepped and charged in place; anything else —
    // a refusal, a sliding algorithm — takes the pure cores' path on the state stepLevels left untouched.
    const results: CheckResult[] = [];
    let base = 0;
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      const depth = c.levels.length;
      // Each check steps into its own scratch records, so earlier answers stay readable.
      if (this.admitInPlace(c.levels, c.cost, nowMs, base) === -1) results.push({ allowed: true, charged: true, levels: this.scratch.slice(base, (base += depth)) });
      else results.push(this.decideChecksGeneric([c], policy, nowMs)[0]!);
    }
    return results;
  }

  /** The one-check answer of `depth` levels all admitted and charged, read from scratch[0…depth). */
  private sharedResults(depth: number): SharedResult[] {
    let one = this.sharedOne[depth];
    if (one === undefined) {
      this.sharedOne[depth] = one = [{ allowed: true, charged: true, levels: this.scratch.slice(0, depth) }];
    }
    return one;
  }

  /** decideChecksShared's answer in objects of the caller's own. */
  decideChecksSync(checks: readonly Check[], policy: ChargePolicy, nowMs: number): CheckResult[] {
    const shared = this.decideChecksShared(checks, policy, nowMs);
    const n = shared.length;
    const results = new Array<CheckResult>(n);
    for (let i = 0; i < n; i++) {
      const r = shared[i]!;
      const levels = r.levels;
      results[i] = levels.length > 0 && levels[0] instanceof Scratch ? { allowed: r.allowed, charged: r.charged, levels: decisionsOf(levels as Scratch[], 0, levels.length) } : r;
    }
    return results;
  }

  private decideChecksGeneric(checks: readonly Check[], policy: ChargePolicy, nowMs: number): CheckResult[] {
    const { results, writes } = decideChecks(checks, policy, (key) => this.read(key, nowMs), nowMs);
    for (const w of writes) this.write(w.key, w.state, nowMs + Math.max(1, w.ttlMs));
    return results;
  }

  decide(checks: readonly Check[], policy: ChargePolicy, nowMs: number): Promise<CheckResult[]> {
    try {
      return Promise.resolve(this.decideChecksSync(checks, policy, nowMs));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  peek(level: CounterLevel, nowMs: number): Promise<Decision> {
    return Promise.resolve(step(level.limit, this.read(level.key, nowMs), 0, nowMs).decision);
  }

  reset(level: CounterLevel): Promise<boolean> {
    const s = this.index.get(level.key);
    if (s !== undefined) this.drop(level.key, s);
    return Promise.resolve(s !== undefined);
  }

  close(): Promise<void> {
    this.clear();
    return Promise.resolve();
  }
}
