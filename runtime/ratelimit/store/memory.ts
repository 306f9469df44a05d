/**
 * In-memory store: a Map from counter key to a slot, four numbers of one Float64Array holding the
 * counter's state (expiry, state length, its first two numbers; longer sliding states beside), so a
 * decision reads one cache line instead of an entry object and boxed numbers. Expired slots are swept
 * lazily at most every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's
 * cost is amortised. Decisions are synchronous, so requests and hierarchies are atomic within the
 * process by construction.
 *
 * A level object reused across requests (a plan's, marked by `reusedLevel`) remembers its slot, so a
 * repeated counter is found without hashing its key; the memo is trusted only while this store's slot of
 * that number holds that key (a sweep, reset or close frees it, and the next decision looks the key up
 * again), so a memo from another store or of a reused slot is never read as this key's.
 *
 * `decideChecksShared(checks, policy, now)` is what the RLS service calls: a check whose levels all
 * admit is stepped and charged in place and answered from the store's scratch records (valid until its
 * next call: the service reads them in the same turn), so that path allocates nothing.
 * `decideChecksSync` is the same answer copied into fresh objects, `decide` that behind the store port's
 * promise, and `decideSync(levels, cost, now)` the embedded API for one hierarchy (user → app → tenant).
 */
import { step } from "../core/algorithms.js";
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import { gcraOn } from "../core/gcra.js";
import { GCRA_STEP, GENERIC_STEP, PLAN_KIND, PLAN_SIZE, planInto, Scratch, TOKEN_BUCKET_STEP } from "../core/in-place.js";
import { tokenBucketOn } from "../core/token-bucket.js";
import { fixedWindowOn } from "../core/windows.js";
import type { Decision, State } from "../core/limit.js";
import { decideChecks, LEVEL_STEP, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../core/request.js";
import type { RateLimitStore, SyncDecisions } from "./port.js";
import { answerOf, decisionsOf } from "./scratch-answers.js";

/**
 * A slot's four numbers in `nums`. A const enum, so its members are literals in the compiled code (a
 * module-level const is a context slot TurboFan loads and checks at every use).
 */
const enum Slot {
  STRIDE = 4,
  EXPIRES = 0,
  LENGTH = 1,
  S0 = 2,
  S1 = 3,
}

/** A check's in-place answer, reused: `levels` are the store's scratch records. */
interface SharedResult extends CheckResult {
  levels: Scratch[];
}

export class MemoryStore implements RateLimitStore, SyncDecisions {
  private readonly index = new Map<string, number>();
  private nums = new Float64Array(1024 * Slot.STRIDE);
  /** The key held by each slot (undefined: free). */
  private readonly keys: (string | undefined)[] = [];
  /** States of more than two numbers, by slot. */
  private readonly long: (State | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private lastSweep = -Infinity;
  // Reused by every decision: steps are computed into `scratch` and answered from it.
  private readonly scratch: Scratch[] = [];
  /** Step plans, by depth, of levels that carry none (not reused). */
  private readonly plans: Float64Array[] = [];
  /** Each level's slot in the decision under way (−1: a key without one yet). */
  private readonly slots: number[] = [];
  /** By depth: the one-check results array answering that many levels admitted in place. */
  private readonly sharedOne: SharedResult[][] = [];

  constructor(private readonly sweepIntervalMs = 5_000) {}

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

  /** The slot holding `lv`'s counter (−1: none), looked up by key and remembered on a reused level. */
  private slotOf(lv: Level): number {
    const s = this.index.get(lv.key) ?? -1;
    if (lv.slot !== undefined) lv.slot = s;
    return s;
  }

  /**
   * Steps every level into `scratch[base…]` against the state it had before the request and writes the
   * new states when every level admits (decideLevels' semantics, without its intermediate objects).
   * Returns the first level that rejected (−1: none), or GENERIC, having changed nothing, when a level
   * needs the pure cores (a sliding algorithm, a limit validateLimit refuses, or a key whose stored state
   * is a sliding one), or DUPLICATE when a key appears twice (the caller's check names it), or FRESH when
   * every level admitted but a key to write has no slot yet: nothing is written, and the caller finishes
   * with `commitFresh`. The caller has checked the cost.
   *
   * Why FRESH is the caller's: TurboFan inlines a function's callees up to a total bytecode budget, and
   * slot allocation (hot while a bench or a service warms up on new keys, when this function is
   * optimized) used it up. With no call here but the algorithms' (and slotOf's), they can inline; and
   * each algorithm reads its limit's constants (the level's step plan) and the state where they lie in
   * `nums`, so a call that TurboFan leaves out of line boxes no number but the time.
   */
  private stepLevels(levels: readonly Level[], cost: number, nowMs: number, base: number): number {
    const n = levels.length;
    const slots = this.slots;
    const scratch = this.scratch;
    const nums = this.nums;
    const keys = this.keys;
    let blockedBy = -1;
    let fresh = false;
    for (let i = 0; i < n; i++) {
      const lv = levels[i]!;
      // A reused level's limit is frozen and its step plan worked out once; any other's is planned here.
      let plan = (lv as Stepped)[LEVEL_STEP];
      if (plan === undefined) plan = this.planFor(lv, i);
      const kind = plan[PLAN_KIND]!;
      if (kind === GENERIC_STEP) return Answer.GENERIC;
      // The slot remembered on a reused level while this store's slot of that number holds its key.
      const memo = lv.slot as number | undefined;
      const slot = memo !== undefined && memo >= 0 && keys[memo] === lv.key ? memo : this.slotOf(lv);
      // checkLevels' duplicate check: keys with slots are the same key exactly when their slots are, so
      // only two keys without one need comparing as strings.
      for (let j = 0; j < i; j++) if (slot !== -1 ? slots[j] === slot : slots[j] === -1 && levels[j]!.key === lv.key) return Answer.DUPLICATE;
      slots[i] = slot;
      // The state's numbers lie at nums[at…] (read only when len > 0).
      let len = 0;
      let at = 0;
      if (slot !== -1) {
        const b = slot * Slot.STRIDE;
        if (nums[b + Slot.EXPIRES]! > nowMs) {
          len = nums[b + Slot.LENGTH]!;
          // A longer state (the key was last used by a sliding algorithm) takes the pure cores' path.
          if (len > 2) return Answer.GENERIC;
          at = b + Slot.S0;
        }
      } else fresh = true;
      let out = scratch[base + i];
      if (out === undefined) out = scratch[base + i] = new Scratch();
      // Each algorithm's own call (not one dispatching function, which grows too big to inline once a
      // hierarchy mixes algorithms). Their arguments are objects and small integers besides the time, so
      // even a call that is not inlined (TurboFan inlines a call site that was frequent while this
      // function warmed up) boxes nothing.
      if (kind === GCRA_STEP) gcraOn(plan, len, nums, at, cost, nowMs, out);
      else if (kind === TOKEN_BUCKET_STEP) tokenBucketOn(plan, len, nums, at, cost, nowMs, out);
      else fixedWindowOn(plan, len, nums, at, cost, nowMs, out); // FIXED_WINDOW_STEP
      if (blockedBy === -1 && !out.allowed) blockedBy = i;
    }
    if (blockedBy !== -1) return blockedBy;
    if (fresh) return Answer.FRESH;
    for (let i = 0; i < n; i++) {
      const out = scratch[base + i]!;
      if (out.nextLength !== 0) writeStep(nums, slots[i]!, out, nowMs, this.long);
    }
    return -1;
  }

  /** The step plan of a level that is not reused, into this store's plan for depth `i`. */
  private planFor(lv: Level, i: number): Float64Array {
    let plan = this.plans[i];
    if (plan === undefined) this.plans[i] = plan = new Float64Array(PLAN_SIZE);
    planInto(lv.limit, plan);
    return plan;
  }

  /** stepLevels' commit when it answered FRESH: slots for the new keys, then every level's write. */
  private commitFresh(levels: readonly Level[], base: number, nowMs: number): number {
    const slots = this.slots;
    for (let i = 0; i < levels.length; i++) {
      const out = this.scratch[base + i]!;
      if (out.nextLength === 0) continue;
      let s = slots[i]!;
      if (s === -1) s = this.newSlotFor(levels[i]!);
      // newSlot may grow the array: this.nums is read after it.
      writeStep(this.nums, s, out, nowMs, this.long);
    }
    return -1;
  }

  /** stepLevels, finished by commitFresh when it needs new slots: what every in-place caller calls. */
  private admitInPlace(levels: readonly Level[], cost: number, nowMs: number, base: number): number {
    const r = this.stepLevels(levels, cost, nowMs, base);
    return r === Answer.FRESH ? this.commitFresh(levels, base, nowMs) : r;
  }

  /** A slot for a level's new counter, remembered on a reused level. */
  private newSlotFor(lv: Level): number {
    const s = this.newSlot(lv.key);
    if (lv.slot !== undefined) lv.slot = s;
    return s;
  }

  private newSlot(key: string): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.keys.length;
      if ((s + 1) * Slot.STRIDE > this.nums.length) this.grow();
    }
    this.keys[s] = key;
    this.nums[s * Slot.STRIDE + Slot.LENGTH] = 0;
    this.index.set(key, s);
    return s;
  }

  private grow(): void {
    const grown = new Float64Array(this.nums.length * 2);
    grown.set(this.nums);
    this.nums = grown;
  }

  private drop(key: string, slot: number): void {
    this.index.delete(key);
    this.keys[slot] = undefined;
    this.long[slot] = undefined;
    this.freeSlots.push(slot);
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

  private write(key: string, state: State, expiresAt: number): void {
    const s = this.index.get(key) ?? this.newSlot(key);
    const nums = this.nums;
    const b = s * Slot.STRIDE;
    nums[b + Slot.EXPIRES] = expiresAt;
    nums[b + Slot.LENGTH] = state.length;
    if (state.length > 2) {
      this.long[s] = state;
      return;
    }
    this.long[s] = undefined;
    nums[b + Slot.S0] = state.length > 0 ? state[0]! : 0;
    nums[b + Slot.S1] = state.length > 1 ? state[1]! : 0;
  }

  private read(key: string, nowMs: number): State | undefined {
    const s = this.index.get(key);
    if (s === undefined) return undefined;
    const nums = this.nums;
    const b = s * Slot.STRIDE;
    if (!(nums[b + Slot.EXPIRES]! > nowMs)) return undefined;
    const len = nums[b + Slot.LENGTH]!;
    return len > 2 ? this.long[s] : len === 2 ? [nums[b + Slot.S0]!, nums[b + Slot.S1]!] : len === 1 ? [nums[b + Slot.S0]!] : [];
  }

  /** Drop expired states. */
  sweep(nowMs: number): void {
    for (const [k, s] of this.index) if (this.nums[s * Slot.STRIDE + Slot.EXPIRES]! <= nowMs) this.drop(k, s);
  }

  get size(): number {
    return this.index.size;
  }

  close(): Promise<void> {
    this.index.clear();
    this.keys.length = 0;
    this.long.length = 0;
    this.freeSlots.length = 0;
    return Promise.resolve();
  }
}

/**
 * stepLevels' answers: a level needs the pure cores' path / a key appears twice (nothing was changed) /
 * every level admitted, and a key to write needs a new slot (commitFresh writes them).
 */
const enum Answer {
  GENERIC = -2,
  DUPLICATE = -3,
  FRESH = -4,
}

/** A level's new state into its slot (the slot's long state, if it had one, is dropped). */
function writeStep(nums: Float64Array, s: number, out: Scratch, nowMs: number, long: (State | undefined)[]): void {
  const b = s * Slot.STRIDE;
  if (nums[b + Slot.LENGTH]! > 2) long[s] = undefined;
  nums[b + Slot.EXPIRES] = nowMs + Math.max(1, out.ttlMs);
  nums[b + Slot.LENGTH] = out.nextLength;
  nums[b + Slot.S0] = out.next0;
  nums[b + Slot.S1] = out.nextLength === 2 ? out.next1 : 0;
}

/** A reused level's step plan (request.ts); other levels have none. */
type Stepped = Level & { [LEVEL_STEP]?: Float64Array };
