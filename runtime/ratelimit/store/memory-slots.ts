/**
 * The memory store's in-place decision path, on its slot table (memory-table.ts: counters in one
 * Float64Array, found by key or by a reused level's remembered slot).
 *
 * A reused hierarchy's levels (`reusedLevels`, never changed) carry a memo of them all (LevelsMemo:
 * their slots and step plans), trusted while it holds the table's stamp. A slot changes key only by being freed (drop,
 * clear), which renews the stamp; stamps are distinct across stores, so another store's memo is never read.
 */
import type { Level } from "../core/hierarchy.js";
import { gcraOn } from "../core/gcra.js";
import { GCRA_STEP, GENERIC_STEP, type LevelsMemo, PLAN_KIND, PLAN_SIZE, planInto, Scratch, TOKEN_BUCKET_STEP } from "../core/in-place.js";
import { tokenBucketOn } from "../core/token-bucket.js";
import { fixedWindowOn } from "../core/windows.js";
import type { State } from "../core/limit.js";
import { LEVEL_STEP, LEVELS_MEMO } from "../core/request.js";
import { SlotTable, type SlotLayout } from "./memory-table.js";

/**
 * A slot's four numbers in `nums` (memory-table.ts's layout). A const enum, so its members are literals in
 * the compiled code (a module-level const is a context slot TurboFan loads and checks at every use).
 */
const enum Slot {
  STRIDE = 4,
  EXPIRES = 0,
  LENGTH = 1,
  S0 = 2,
  S1 = 3,
}
void ([Slot.STRIDE, Slot.EXPIRES, Slot.LENGTH, Slot.S0, Slot.S1] satisfies SlotLayout);

/**
 * in-place.ts's step kinds and where a plan keeps its kind, as literals: an imported const is a module
 * cell that TurboFan loads and hole-checks at every use. The compiler holds them equal (below).
 */
const enum Kind {
  GCRA = 0,
  TOKEN_BUCKET = 1,
  GENERIC = 3,
}
const enum PlanAt {
  KIND = 3,
}
void ([Kind.GCRA, Kind.TOKEN_BUCKET, Kind.GENERIC, PlanAt.KIND] satisfies [typeof GCRA_STEP, typeof TOKEN_BUCKET_STEP, typeof GENERIC_STEP, typeof PLAN_KIND]);

/** The in-place decision path on the slot table; MemoryStore (memory.ts) decides requests on them. */
export class MemorySlots extends SlotTable {
  // Reused by every decision: steps are computed into `scratch` and answered from it.
  protected readonly scratch: Scratch[] = [];
  /** Step plans, by depth, of levels that carry none (not reused). */
  private readonly plans: Float64Array[] = [];
  /** stepLevels' two-number state of a token bucket or fixed window stored shorter. */
  private readonly pad = new Float64Array(2);
  /** Each level's slot in the decision under way (−1: a key without one yet). */
  private readonly slots: number[] = [];

  /**
   * stepLevels for a check of one level (the service's common case), into scratch[base]: no duplicate
   * check or second pass, and call sites of its own, so TurboFan inlines the algorithms each function's
   * own traffic calls (hierarchies' feedback is not mixed with single levels').
   */
  private stepOne(lv: Level, cost: number, nowMs: number, base: number): number {
    let plan = (lv as Stepped)[LEVEL_STEP];
    if (plan === undefined) plan = this.planFor(lv, 0);
    const kind = plan[PlanAt.KIND]!;
    if (kind === Kind.GENERIC) return Answer.GENERIC;
    const slot = this.slotFor(lv);
    const nums = this.nums;
    const b = slot * Slot.STRIDE;
    let len = 0;
    if (slot !== -1 && nums[b + Slot.EXPIRES]! > nowMs) {
      len = nums[b + Slot.LENGTH]!;
      if (len > 2) return Answer.GENERIC;
    }
    let out = this.scratch[base];
    if (out === undefined) out = this.scratch[base] = new Scratch();
    // The state is read only when len > 0.
    if (kind === Kind.GCRA) gcraOn(plan, len, nums, b + Slot.S0, cost, nowMs, out);
    else if (kind === Kind.TOKEN_BUCKET) tokenBucketOn(plan, len, nums, b + Slot.S0, cost, nowMs, out);
    else fixedWindowOn(plan, len, nums, b + Slot.S0, cost, nowMs, out);
    if (!out.allowed) return 0;
    if (slot === -1) {
      this.slots[0] = -1;
      return Answer.FRESH;
    }
    if (out.nextLength !== 0) writeStep(nums, slot, out, nowMs, this.long);
    return -1;
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
   * Why FRESH is the caller's, and slotFor and writeStep are written out here: TurboFan inlines a
   * function's callees up to one budget of their bytecode (its own is free), and the three algorithms
   * need all of it to inline beside each other; slot allocation and slotFor's lookup (hot while a bench
   * or a service warms up on new keys, when this function is optimized) took their share. So the
   * algorithms are the only calls here, each reads its limit's constants (the level's step plan) and the
   * state where they lie in `nums`, and a call TurboFan leaves out of line boxes no number but the time.
   */
  private stepLevels(levels: readonly Level[], cost: number, nowMs: number, base: number): number {
    // Reused levels (LEVELS_MEMO) step through their memo when it is this store's, and are memoized when
    // not: here, not in admitInPlace, whose growth slowed the one-level path.
    const memo = (levels as Memoized)[LEVELS_MEMO];
    if (memo !== undefined && memo.stamp === this.stamp) return this.stepMemo(memo, cost, nowMs, base);
    const r = this.stepSlots(levels, cost, nowMs, base);
    if (r >= -1 && memo !== undefined) this.memoize(levels, memo);
    return r;
  }

  /** stepLevels without a memo. */
  private stepSlots(levels: readonly Level[], cost: number, nowMs: number, base: number): number {
    const n = levels.length;
    const slots = this.slots;
    const scratch = this.scratch;
    const nums = this.nums;
    const owners = this.owners;
    // Read once, not at every use in the loop: an imported const is a module cell TurboFan loads and checks,
    // and the time is a HeapNumber it checks and unboxes.
    const stepKey: typeof LEVEL_STEP = LEVEL_STEP;
    const now = +nowMs;
    let blockedBy = -1;
    let fresh = false;
    for (let i = 0; i < n; i++) {
      const lv = levels[i]!;
      // A reused level's limit is frozen and its step plan worked out once; any other's is planned here.
      let plan = (lv as Stepped)[stepKey];
      if (plan === undefined) plan = this.planFor(lv, i);
      const kind = plan[PlanAt.KIND]!;
      if (kind === Kind.GENERIC) return Answer.GENERIC;
      // slotFor, written out (see above).
      const memo = lv.slot as number | undefined;
      let slot: number;
      if (memo !== undefined && memo >= 0 && owners[memo] === lv) slot = memo;
      else if (memo !== undefined && memo >= 0 && this.keys[memo] === lv.key) {
        slot = memo;
        owners[memo] = lv;
      } else {
        slot = this.index.get(lv.key) ?? -1;
        if (memo !== undefined) {
          lv.slot = slot;
          if (slot !== -1) owners[slot] = lv;
        }
      }
      // checkLevels' duplicate check: keys with slots are the same key exactly when their slots are, so
      // only two keys without one need comparing as strings.
      for (let j = 0; j < i; j++) if (slot !== -1 ? slots[j] === slot : slots[j] === -1 && levels[j]!.key === lv.key) return Answer.DUPLICATE;
      slots[i] = slot;
      // The state's numbers lie at nums[at…] (read only when len > 0).
      let len = 0;
      let at = 0;
      if (slot !== -1) {
        const b = slot * Slot.STRIDE;
        if (nums[b + Slot.EXPIRES]! > now) {
          len = nums[b + Slot.LENGTH]!;
          // A longer state (the key was last used by a sliding algorithm) takes the pure cores' path.
          if (len > 2) return Answer.GENERIC;
          at = b + Slot.S0;
        }
      } else fresh = true;
      let out = scratch[base + i];
      if (out === undefined) out = scratch[base + i] = new Scratch();
      // A token bucket's or fixed window's state of fewer than two numbers steps as its equivalent pair
      // (tokenBucketPadded's full bucket refilled now, fixedWindowPadded's window start −∞), padded here so
      // their calls below pass length 2: TurboFan then drops their padding calls, whose arguments (the time
      // boxed in a new HeapNumber, the length tagged) it otherwise computed before this dispatch, for every level.
      let src = nums;
      if (len < 2 && kind !== Kind.GCRA) {
        src = this.pad;
        src[0] = len > 0 ? nums[at]! : kind === Kind.TOKEN_BUCKET ? plan[0]! : -Infinity;
        src[1] = kind === Kind.TOKEN_BUCKET ? now : 0;
        at = 0;
      }
      // Each algorithm's own call (not one dispatching function, which grows too big to inline once a
      // hierarchy mixes algorithms). Their arguments are objects and small integers besides the time, so
      // even a call that is not inlined (TurboFan inlines a call site that was frequent while this
      // function warmed up) boxes nothing.
      if (kind === Kind.GCRA) gcraOn(plan, len, nums, at, cost, now, out);
      else if (kind === Kind.TOKEN_BUCKET) tokenBucketOn(plan, 2, src, at, cost, now, out);
      else fixedWindowOn(plan, 2, src, at, cost, now, out); // FIXED_WINDOW_STEP
      if (blockedBy === -1 && !out.allowed) blockedBy = i;
    }
    if (blockedBy !== -1) return blockedBy;
    if (fresh) return Answer.FRESH;
    // writeStep, written out (see above).
    const long = this.long;
    for (let i = 0; i < n; i++) {
      const out = scratch[base + i]!;
      const len = out.nextLength;
      if (len === 0) continue;
      const b = slots[i]! * Slot.STRIDE;
      if (nums[b + Slot.LENGTH]! > 2) long[slots[i]!] = undefined;
      nums[b + Slot.EXPIRES] = now + Math.max(1, out.ttlMs);
      nums[b + Slot.LENGTH] = len;
      nums[b + Slot.S0] = out.next0;
      nums[b + Slot.S1] = len === 2 ? out.next1 : 0;
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
  protected admitInPlace(levels: readonly Level[], cost: number, nowMs: number, base: number): number {
    const r = levels.length === 1 ? this.stepOne(levels[0]!, cost, nowMs, base) : this.stepLevels(levels, cost, nowMs, base);
    return r === Answer.FRESH ? this.commitFresh(levels, base, nowMs) : r;
  }

  /**
   * After stepLevels answered on `levels` (no duplicate, slots in this.slots): their memo, when every
   * level has a slot and a step plan of its own.
   */
  private memoize(levels: readonly Level[], memo: LevelsMemo): void {
    const n = levels.length;
    for (let i = 0; i < n; i++) if (this.slots[i] === -1 || (levels[i] as Stepped)[LEVEL_STEP] === undefined) return;
    memo.slots.length = 0;
    memo.plans.length = 0;
    for (let i = 0; i < n; i++) {
      memo.slots.push(this.slots[i]!);
      memo.plans.push((levels[i] as Stepped)[LEVEL_STEP]!);
    }
    memo.stamp = this.stamp;
  }

  /**
   * stepLevels on a memo of this store's stamp: its slots hold the levels' keys and are distinct, and its
   * plans are the levels' own (so none is GENERIC), so no level object is read. Answers as stepLevels
   * does, never FRESH.
   */
  private stepMemo(memo: LevelsMemo, cost: number, nowMs: number, base: number): number {
    const slots = memo.slots;
    const plans = memo.plans;
    const n = slots.length;
    const scratch = this.scratch;
    const nums = this.nums;
    const now = +nowMs;
    let blockedBy = -1;
    for (let i = 0; i < n; i++) {
      const plan = plans[i]!;
      const kind = plan[PlanAt.KIND]!;
      const b = slots[i]! * Slot.STRIDE;
      let len = 0;
      let at = 0;
      if (nums[b + Slot.EXPIRES]! > now) {
        len = nums[b + Slot.LENGTH]!;
        if (len > 2) return Answer.GENERIC;
        at = b + Slot.S0;
      }
      let out = scratch[base + i];
      if (out === undefined) out = scratch[base + i] = new Scratch();
      // As in stepLevels.
      let src = nums;
      if (len < 2 && kind !== Kind.GCRA) {
        src = this.pad;
        src[0] = len > 0 ? nums[at]! : kind === Kind.TOKEN_BUCKET ? plan[0]! : -Infinity;
        src[1] = kind === Kind.TOKEN_BUCKET ? now : 0;
        at = 0;
      }
      if (kind === Kind.GCRA) gcraOn(plan, len, nums, at, cost, now, out);
      else if (kind === Kind.TOKEN_BUCKET) tokenBucketOn(plan, 2, src, at, cost, now, out);
      else fixedWindowOn(plan, 2, src, at, cost, now, out);
      if (blockedBy === -1 && !out.allowed) blockedBy = i;
    }
    if (blockedBy !== -1) return blockedBy;
    const long = this.long;
    for (let i = 0; i < n; i++) {
      const out = scratch[base + i]!;
      const len = out.nextLength;
      if (len === 0) continue;
      const s = slots[i]!;
      const b = s * Slot.STRIDE;
      if (nums[b + Slot.LENGTH]! > 2) long[s] = undefined;
      nums[b + Slot.EXPIRES] = now + Math.max(1, out.ttlMs);
      nums[b + Slot.LENGTH] = len;
      nums[b + Slot.S0] = out.next0;
      nums[b + Slot.S1] = len === 2 ? out.next1 : 0;
    }
    return -1;
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
/** A reused check's levels (request.ts's reusedLevels); others have no memo. */
type Memoized = readonly Level[] & { [LEVELS_MEMO]?: LevelsMemo };
