/**
 * In-memory store: a Map from counter key to a slot of one Float64Array (expiry and state); expired
 * states are swept lazily at most every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's cost is
 * amortised. Decisions are synchronous, so requests and hierarchies are atomic within the process by
 * construction. `decideChecksSync(checks, policy, now)` is what the RLS service calls (it has no promise
 * to wait for: the service answers in the same turn), `decide` the same behind the store port's promise,
 * and `decideSync(levels, cost, now)` the embedded API for one hierarchy (user → app → tenant).
 */
import { step } from "../core/algorithms.js";
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import { inPlace, Scratch, stepUnpacked } from "../core/in-place.js";
import type { Decision, Limit, State } from "../core/limit.js";
import { decideChecks, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../core/request.js";
import type { RateLimitStore } from "./port.js";

// A counter lives in a slot: four numbers of one Float64Array — expiry, state length, and the state's first
// two numbers — so a decision touches the key's Map entry (its slot, a small integer kept unboxed in the
// Map) and one cache line, instead of an entry object, a boxed expiry, a state array and its elements.
// States longer than two numbers (the sliding algorithms') are kept as arrays beside the slot.
const STRIDE = 4;
const EXPIRES = 0;
const LENGTH = 1;
const S0 = 2;
const S1 = 3;

export class MemoryStore implements RateLimitStore {
  private readonly index = new Map<string, number>();
  private nums = new Float64Array(1024 * STRIDE);
  /** States of more than two numbers, by slot. */
  private readonly long: (State | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private lastSweep = -Infinity;
  // Scratch for decideSync (reused: the hot path allocates only its answer and new slots).
  private readonly slots: (number | undefined)[] = [];
  private readonly scratch: Scratch[] = [new Scratch()];
  /** The last key seen at each depth > 0 of a hierarchy, and its slot. */
  private readonly parents: (string | undefined)[] = [];
  private readonly parentSlots: number[] = [];

  constructor(private readonly sweepIntervalMs = 5_000) {}

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) {
      if (this.lastSweep !== -Infinity) this.sweep(nowMs);
      this.lastSweep = nowMs;
    }
  }

  /** Decide a hierarchy: the overall answer and each level's own. */
  decideSync(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    const blockedBy = this.stepLevels(levels, cost, nowMs);
    if (blockedBy === GENERIC) return this.decideGeneric(levels, cost, nowMs);
    const n = levels.length;
    return answerOf(this.scratch, n, blockedBy, decisionsOf(this.scratch, n));
  }

  /**
   * Steps every level into `this.scratch` against the state it had before the request and writes the new
   * states when every level admits (decideLevels' semantics, without its intermediate objects). Returns
   * the first level that rejected (−1: none), or GENERIC, having changed nothing, when a level needs the
   * pure cores (a sliding algorithm, or a key whose stored state is one).
   */
  private stepLevels(levels: readonly Level[], cost: number, nowMs: number): number {
    const n = levels.length;
    if (n === 1 && Number.isInteger(cost) && cost >= 0) {
      // One level has no duplicate keys to look for.
      if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
      const lv = levels[0]!;
      const out = this.scratch[0]!;
      return this.stepKey(lv.key, lv.limit, cost, nowMs, out) ? (out.allowed ? -1 : 0) : GENERIC;
    }
    if (n === 0 || !Number.isInteger(cost) || cost < 0) checkLevels(levels, cost);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
    // gcra, token bucket and fixed window: one pass looks each level up and steps it into scratch against
    // the state it had before the request; the states are written in place only when every level admits.
    const index = this.index;
    const nums = this.nums;
    const slots = this.slots;
    const scratch = this.scratch;
    const parents = this.parents;
    let blockedBy = -1;
    for (let i = 0; i < n; i++) {
      const lv = levels[i]!;
      const limit = lv.limit;
      if (!inPlace(limit)) return GENERIC;
      const key = lv.key;
      // Parents (an app, a tenant) are shared by many children, so the same key tends to come back at
      // the same depth: its slot is remembered there (forgotten whenever any slot is freed).
      let slot: number | undefined;
      if (i > 0 && parents[i] === key) slot = this.parentSlots[i];
      else {
        slot = index.get(key);
        if (i > 0 && slot !== undefined) {
          parents[i] = key;
          this.parentSlots[i] = slot;
        }
      }
      // checkLevels' duplicate check: keys with slots are the same key exactly when their slots are, so
      // only two keys without one need comparing as strings.
      for (let j = 0; j < i; j++) if (slot !== undefined ? slots[j] === slot : slots[j] === undefined && levels[j]!.key === key) checkLevels(levels, cost);
      slots[i] = slot;
      let len = 0;
      let s0 = 0;
      let s1 = 0;
      if (slot !== undefined) {
        const b = slot * STRIDE;
        if (nums[b + EXPIRES]! > nowMs) {
          len = nums[b + LENGTH]!;
          // A longer state (the key was last used by a sliding algorithm) takes the pure cores' path.
          if (len > 2) return GENERIC;
          s0 = nums[b + S0]!;
          s1 = nums[b + S1]!;
        }
      }
      let out = scratch[i];
      if (out === undefined) out = scratch[i] = new Scratch();
      stepUnpacked(limit, len, s0, s1, cost, nowMs, out);
      if (blockedBy === -1 && !out.allowed) blockedBy = i;
    }
    if (blockedBy === -1)
      for (let i = 0; i < n; i++) {
        const out = scratch[i]!;
        if (out.nextLength !== 0) this.commit(levels[i]!.key, slots[i], out, nowMs);
      }
    return blockedBy;
  }

  /** One counter stepped into `out` and written when it changes; false (nothing done) when it needs the pure cores. */
  private stepKey(key: string, limit: Limit, cost: number, nowMs: number, out: Scratch): boolean {
    if (!inPlace(limit)) return false;
    const slot = this.index.get(key);
    let len = 0;
    let s0 = 0;
    let s1 = 0;
    if (slot !== undefined) {
      const nums = this.nums;
      const b = slot * STRIDE;
      if (nums[b + EXPIRES]! > nowMs) {
        len = nums[b + LENGTH]!;
        if (len > 2) return false;
        s0 = nums[b + S0]!;
        s1 = nums[b + S1]!;
      }
    }
    stepUnpacked(limit, len, s0, s1, cost, nowMs, out);
    if (out.nextLength !== 0) this.commit(key, slot, out, nowMs);
    return true;
  }

  private commit(key: string, slot: number | undefined, out: Scratch, nowMs: number): void {
    const s = slot ?? this.newSlot(key);
    const nums = this.nums;
    const b = s * STRIDE;
    if (nums[b + LENGTH]! > 2) this.long[s] = undefined;
    nums[b + EXPIRES] = nowMs + Math.max(1, out.ttlMs);
    nums[b + LENGTH] = out.nextLength;
    nums[b + S0] = out.next0;
    nums[b + S1] = out.nextLength === 2 ? out.next1 : 0;
  }

  private newSlot(key: string): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.nextSlot++;
      if ((s + 1) * STRIDE > this.nums.length) {
        const grown = new Float64Array(this.nums.length * 2);
        grown.set(this.nums);
        this.nums = grown;
      }
    }
    this.nums[s * STRIDE + LENGTH] = 0;
    this.index.set(key, s);
    return s;
  }

  private freeSlot(key: string, slot: number): void {
    this.index.delete(key);
    this.parents.length = 0;
    this.long[slot] = undefined;
    this.nums[slot * STRIDE + LENGTH] = 0;
    this.freeSlots.push(slot);
  }

  /** decideSync for hierarchies with a sliding algorithm: the pure cores' objects. */
  private decideGeneric(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    checkLevels(levels, cost);
    const { decision, commits } = decideLevels(levels, (key) => this.read(key, nowMs), cost, nowMs);
    for (const c of commits) this.write(c.key, c.state, nowMs + Math.max(1, c.ttlMs));
    return decision;
  }

  decideChecksSync(checks: readonly Check[], policy: ChargePolicy, nowMs: number): CheckResult[] {
    const n = checks.length;
    for (let i = 0; i < n; i++) validateCheck(checks[i]!);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
    // Atomic across several checks charges nothing when any is refused: the request must be decided whole.
    if (policy === "atomic" && n > 1) return this.decideChecksGeneric(checks, policy, nowMs);
    // Otherwise each check stands alone, seeing the charges of those before it. A check whose levels all
    // admit (the common answer; shadow or enforced alike) is stepped and charged in place; anything else —
    // a refusal, a sliding algorithm — takes the pure cores' path on the state stepLevels left untouched.
    if (n === 1) return [this.admitInPlace(checks[0]!, nowMs) ?? this.decideChecksGeneric(checks, policy, nowMs)[0]!];
    const results: CheckResult[] = [];
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      results.push(this.admitInPlace(c, nowMs) ?? this.decideChecksGeneric([c], policy, nowMs)[0]!);
    }
    return results;
  }

  /** A check all of whose levels admit, stepped and charged in place; null (nothing changed) otherwise. */
  private admitInPlace(c: Check, nowMs: number): CheckResult | null {
    if (this.stepLevels(c.levels, c.cost, nowMs) !== -1) return null;
    return { allowed: true, charged: true, levels: decisionsOf(this.scratch, c.levels.length) };
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
    if (s !== undefined) this.freeSlot(level.key, s);
    return Promise.resolve(s !== undefined);
  }

  private write(key: string, state: State, expiresAt: number): void {
    const s = this.index.get(key) ?? this.newSlot(key);
    const nums = this.nums;
    const b = s * STRIDE;
    nums[b + EXPIRES] = expiresAt;
    nums[b + LENGTH] = state.length;
    if (state.length > 2) {
      this.long[s] = state;
      return;
    }
    this.long[s] = undefined;
    nums[b + S0] = state.length > 0 ? state[0]! : 0;
    nums[b + S1] = state.length > 1 ? state[1]! : 0;
  }

  private read(key: string, nowMs: number): State | undefined {
    const s = this.index.get(key);
    if (s === undefined) return undefined;
    const nums = this.nums;
    const b = s * STRIDE;
    if (!(nums[b + EXPIRES]! > nowMs)) return undefined;
    const len = nums[b + LENGTH]!;
    return len > 2 ? this.long[s] : len === 2 ? [nums[b + S0]!, nums[b + S1]!] : len === 1 ? [nums[b + S0]!] : [];
  }

  /** Drop expired states. */
  sweep(nowMs: number): void {
    for (const [k, s] of this.index) if (this.nums[s * STRIDE + EXPIRES]! <= nowMs) this.freeSlot(k, s);
  }

  get size(): number {
    return this.index.size;
  }

  close(): Promise<void> {
    this.index.clear();
    this.parents.length = 0;
    this.long.length = 0;
    this.freeSlots.length = 0;
    this.nextSlot = 0;
    return Promise.resolve();
  }
}

/** stepLevels' answer: a level needs the pure cores' path; nothing was changed. */
const GENERIC = -2;

const decisionOf = (s: Scratch): Decision => ({ allowed: s.allowed, limit: s.limit, remaining: s.remaining, retryAfterMs: s.retryAfterMs, resetAfterMs: s.resetAfterMs });

/** The first `n` scratches' decisions. Array literals of the common depths are allocated inline; a loop of pushes or new Array(n) is not. */
function decisionsOf(s: readonly Scratch[], n: number): Decision[] {
  return n === 1 ? [decisionOf(s[0]!)] : n === 2 ? [decisionOf(s[0]!), decisionOf(s[1]!)] : n === 3 ? [decisionOf(s[0]!), decisionOf(s[1]!), decisionOf(s[2]!)] : s.slice(0, n).map(decisionOf);
}

/** combine(), read straight from scratch: the tightest level speaks for the hierarchy. */
function answerOf(scratch: readonly Scratch[], n: number, blockedBy: number, levels: Decision[]): HierarchyDecision {
  let tightest = 0;
  let retryAfterMs = 0;
  let resetAfterMs = 0;
  for (let i = 0; i < n; i++) {
    const s = scratch[i]!;
    if (s.remaining < scratch[tightest]!.remaining) tightest = i;
    if (s.resetAfterMs > resetAfterMs) resetAfterMs = s.resetAfterMs;
    if (!s.allowed && retryAfterMs !== -1) retryAfterMs = s.retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, s.retryAfterMs);
  }
  const t = scratch[tightest]!;
  const allowed = blockedBy === -1;
  return { allowed, limit: t.limit, remaining: t.remaining, retryAfterMs, resetAfterMs, levels, blockedBy };
}
