/**
 * In-memory store: a Map from counter key to a slot object holding the counter's state as numbers
 * (expiry, state length, its first two numbers; longer sliding states beside). Expired slots are swept
 * lazily at most every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's
 * cost is amortised. Decisions are synchronous, so requests and hierarchies are atomic within the
 * process by construction.
 *
 * A level object reused across requests (a plan's, marked by `reusedLevel`) remembers its slot, so a
 * repeated counter is found without hashing its key; the memo is trusted only while the slot is still
 * this store's and the key's (a sweep, reset or close drops the slot's owner, and the next decision looks
 * the key up again).
 *
 * `decideChecksShared(checks, policy, now)` is what the RLS service calls: a check whose levels all
 * admit is stepped and charged in place and answered from the store's scratch records (valid until its
 * next call: the service reads them in the same turn), so that path allocates nothing.
 * `decideChecksSync` is the same answer copied into fresh objects, `decide` that behind the store port's
 * promise, and `decideSync(levels, cost, now)` the embedded API for one hierarchy (user → app → tenant).
 */
import { step } from "../core/algorithms.js";
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import { inPlace, Scratch, stepUnpacked } from "../core/in-place.js";
import type { Decision, State } from "../core/limit.js";
import { decideChecks, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../core/request.js";
import type { RateLimitStore, SyncDecisions } from "./port.js";

/** One counter: its state unboxed (a decision reads a few numbers of one object, never a state array). */
class Slot {
  /** The store holding the slot; null once dropped (expired, reset, closed), so memos of it are stale. */
  owner: MemoryStore | null;
  expires = 0;
  /** Numbers in the state (0: none); states of more than two numbers are in `long`. */
  len = 0;
  s0 = 0;
  s1 = 0;
  long: State | undefined = undefined;
  constructor(
    readonly key: string,
    owner: MemoryStore,
  ) {
    this.owner = owner;
  }
}

/** A check's in-place answer, reused: `levels` are the store's scratch records. */
interface SharedResult extends CheckResult {
  levels: Scratch[];
}

export class MemoryStore implements RateLimitStore, SyncDecisions {
  private readonly index = new Map<string, Slot>();
  private lastSweep = -Infinity;
  // Reused by every decision: steps are computed into `scratch` and answered from it.
  private readonly scratch: Scratch[] = [];
  /** Each level's slot in the decision under way (undefined: a key without one yet). */
  private readonly slots: (Slot | undefined)[] = [];
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
    const blockedBy = this.stepLevels(levels, cost, nowMs, 0);
    if (blockedBy === GENERIC) return this.decideGeneric(levels, cost, nowMs);
    const n = levels.length;
    return answerOf(this.scratch, n, blockedBy, decisionsOf(this.scratch, 0, n));
  }

  /** The slot holding `lv`'s counter, remembered on a reused level; undefined when the key has none. */
  private slotOf(lv: Level): Slot | undefined {
    const memo = lv.slot;
    if (memo === undefined) return this.index.get(lv.key);
    if (memo instanceof Slot && memo.owner === this && memo.key === lv.key) return memo;
    const s = this.index.get(lv.key);
    if (s !== undefined) lv.slot = s;
    return s;
  }

  /**
   * Steps every level into `scratch[base…]` against the state it had before the request and writes the
   * new states when every level admits (decideLevels' semantics, without its intermediate objects).
   * Returns the first level that rejected (−1: none), or GENERIC, having changed nothing, when a level
   * needs the pure cores (a sliding algorithm, or a key whose stored state is one). Throws (changing
   * nothing) when a key appears twice. The caller has checked the cost.
   */
  private stepLevels(levels: readonly Level[], cost: number, nowMs: number, base: number): number {
    const n = levels.length;
    const slots = this.slots;
    const scratch = this.scratch;
    let blockedBy = -1;
    for (let i = 0; i < n; i++) {
      const lv = levels[i]!;
      const limit = lv.limit;
      if (!inPlace(limit)) return GENERIC;
      const slot = this.slotOf(lv);
      // checkLevels' duplicate check: keys with slots are the same key exactly when their slots are, so
      // only two keys without one need comparing as strings.
      for (let j = 0; j < i; j++) if (slot !== undefined ? slots[j] === slot : slots[j] === undefined && levels[j]!.key === lv.key) checkLevels(levels, cost);
      slots[i] = slot;
      let len = 0;
      let s0 = 0;
      let s1 = 0;
      if (slot !== undefined && slot.expires > nowMs) {
        len = slot.len;
        // A longer state (the key was last used by a sliding algorithm) takes the pure cores' path.
        if (len > 2) return GENERIC;
        s0 = slot.s0;
        s1 = slot.s1;
      }
      let out = scratch[base + i];
      if (out === undefined) out = scratch[base + i] = new Scratch();
      stepUnpacked(limit, len, s0, s1, cost, nowMs, out);
      if (blockedBy === -1 && !out.allowed) blockedBy = i;
    }
    if (blockedBy === -1)
      for (let i = 0; i < n; i++) {
        const out = scratch[base + i]!;
        if (out.nextLength === 0) continue;
        const lv = levels[i]!;
        let s = slots[i];
        if (s === undefined) {
          s = this.newSlot(lv.key);
          if (lv.slot !== undefined) lv.slot = s;
        } else if (s.len > 2) s.long = undefined;
        s.expires = nowMs + Math.max(1, out.ttlMs);
        s.len = out.nextLength;
        s.s0 = out.next0;
        s.s1 = out.nextLength === 2 ? out.next1 : 0;
      }
    return blockedBy;
  }

  private newSlot(key: string): Slot {
    const s = new Slot(key, this);
    this.index.set(key, s);
    return s;
  }

  private drop(s: Slot): void {
    s.owner = null;
    this.index.delete(s.key);
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
    for (let i = 0; i < n; i++) validateCheck(checks[i]!);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
    // Atomic across several checks charges nothing when any is refused: the request must be decided whole.
    if (policy === "atomic" && n > 1) return this.decideChecksGeneric(checks, policy, nowMs);
    // Otherwise each check stands alone, seeing the charges of those before it. A check whose levels all
    // admit (the common answer; shadow or enforced alike) is stepped and charged in place; anything else —
    // a refusal, a sliding algorithm — takes the pure cores' path on the state stepLevels left untouched.
    if (n === 1) {
      const c = checks[0]!;
      if (this.stepLevels(c.levels, c.cost, nowMs, 0) !== -1) return this.decideChecksGeneric(checks, policy, nowMs);
      return this.sharedResults(c.levels.length);
    }
    const results: CheckResult[] = [];
    let base = 0;
    for (let i = 0; i < n; i++) {
      const c = checks[i]!;
      const depth = c.levels.length;
      // Each check steps into its own scratch records, so earlier answers stay readable.
      if (this.stepLevels(c.levels, c.cost, nowMs, base) === -1) results.push({ allowed: true, charged: true, levels: this.scratch.slice(base, (base += depth)) });
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
    if (s !== undefined) this.drop(s);
    return Promise.resolve(s !== undefined);
  }

  private write(key: string, state: State, expiresAt: number): void {
    const s = this.index.get(key) ?? this.newSlot(key);
    s.expires = expiresAt;
    s.len = state.length;
    if (state.length > 2) {
      s.long = state;
      return;
    }
    s.long = undefined;
    s.s0 = state.length > 0 ? state[0]! : 0;
    s.s1 = state.length > 1 ? state[1]! : 0;
  }

  private read(key: string, nowMs: number): State | undefined {
    const s = this.index.get(key);
    if (s === undefined || !(s.expires > nowMs)) return undefined;
    const len = s.len;
    return len > 2 ? s.long : len === 2 ? [s.s0, s.s1] : len === 1 ? [s.s0] : [];
  }

  /** Drop expired states. */
  sweep(nowMs: number): void {
    for (const s of this.index.values()) if (s.expires <= nowMs) this.drop(s);
  }

  get size(): number {
    return this.index.size;
  }

  close(): Promise<void> {
    for (const s of this.index.values()) s.owner = null;
    this.index.clear();
    return Promise.resolve();
  }
}

/** stepLevels' answer: a level needs the pure cores' path; nothing was changed. */
const GENERIC = -2;

const decisionOf = (s: Scratch): Decision => ({ allowed: s.allowed, limit: s.limit, remaining: s.remaining, retryAfterMs: s.retryAfterMs, resetAfterMs: s.resetAfterMs });

/** Scratches [from, from + n)'s decisions. Array literals of the common depths are allocated inline; a loop of pushes or new Array(n) is not. */
function decisionsOf(s: readonly Scratch[], from: number, n: number): Decision[] {
  return n === 1
    ? [decisionOf(s[from]!)]
    : n === 2
      ? [decisionOf(s[from]!), decisionOf(s[from + 1]!)]
      : n === 3
        ? [decisionOf(s[from]!), decisionOf(s[from + 1]!), decisionOf(s[from + 2]!)]
        : s.slice(from, from + n).map(decisionOf);
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
