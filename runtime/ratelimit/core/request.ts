/**
 * One rate limit request as the stores decide it: a list of checks (one per descriptor with a limit),
 * each a short hierarchy of counter levels charged `cost` (the descriptor's hits_addend).
 *
 * - A check is allowed when every *enforced* level admits; shadow levels are stepped and reported but
 *   never reject. An allowed check charges the levels that admitted; a rejected check charges none of
 *   them. Under `independent`, a fixed-window level that rejects still counts the hits, as
 *   envoyproxy/ratelimit's INCRBY does (a window that went over stays over: a later hits_addend 0
 *   probe sees it); under `atomic` a rejection counts nothing anywhere.
 * - The request's answer follows envoyproxy/ratelimit: OVER_LIMIT when any non-quota check is rejected,
 *   or when there are quota checks and every one of them is rejected.
 * - Charging policy: `independent` (envoyproxy/ratelimit's default) keeps each allowed check's charge
 *   whatever the others answered; `atomic` charges nothing at all when the request is OVER_LIMIT.
 * Checks are decided in order and later checks see earlier charges, so a counter named by two checks
 * is charged twice, as two descriptors would be. Pure: the caller supplies state reads and the time.
 */
import { step } from "./algorithms.js";
import { LevelsMemo, PLAN_SIZE, planInto } from "./in-place.js";
import { fixedWindowCountRejected } from "./windows.js";
import { LimitError, limitOk, validateLimit, type Decision, type Limit, type State } from "./limit.js";

export type ChargePolicy = "independent" | "atomic";
export const CHARGE_POLICIES: readonly ChargePolicy[] = ["independent", "atomic"];

export interface CounterLevel {
  /** The counter's identity (the store adds its prefix and Cluster hash tag). */
  key: string;
  /** Levels of one check share a tag, so a Redis Cluster keeps them in one slot. */
  tag: string;
  limit: Limit;
  /** false: shadow mode — decided and reported, never rejects. */
  enforce: boolean;
  /** The memory store's memo of this counter, on levels made by `reusedLevel`. */
  slot?: unknown;
}

/** The key of a reused level's step plan (in-place.ts; a symbol: no other object can carry it by accident). */
export const LEVEL_STEP: unique symbol = Symbol("level step");

/**
 * A level object that is reused across requests (a plan's): the memory store may remember the counter's
 * slot number on it (a non-enumerable `slot`, so copies, JSON and equality never see it) instead of
 * looking its key up on every decision. Its limit is a frozen copy, so how the store steps it
 * (`LEVEL_STEP`: the limit's step plan — its stepKind, which validates the limit, and its algorithm's
 * constants) is worked out once and stays true. A class, so the memo is kept inside the object.
 */
class ReusedLevel implements CounterLevel {
  constructor(
    readonly key: string,
    readonly tag: string,
    readonly limit: Limit,
    readonly enforce: boolean,
  ) {
    Object.defineProperty(this, "slot", { value: -1, writable: true, enumerable: false });
    Object.defineProperty(this, LEVEL_STEP, { value: planOf(limit), enumerable: false });
  }
}

/**
 * Reused levels of one limit share its frozen copy (a rule's limit under each of its users: one object
 * in the cache, not one per user), while the limit still reads as that copy.
 */
const frozenCopies = new WeakMap<Limit, Readonly<Limit>>();
/** Step plans by frozen copy: the levels of one limit share it. */
const plans = new WeakMap<Limit, Float64Array>();

function planOf(l: Limit): Float64Array {
  let plan = plans.get(l);
  if (plan === undefined) {
    plan = new Float64Array(PLAN_SIZE);
    planInto(l, plan);
    plans.set(l, plan);
  }
  return plan;
}

function frozenCopy(l: Limit): Limit {
  const known = frozenCopies.get(l);
  if (known !== undefined && sameFields(known, l)) return known;
  // Object.assign onto a literal, not a spread: spread copies of one object each get their own hidden
  // class once frozen, and a hidden class per user makes every read of a limit a megamorphic one.
  const copy = Object.freeze(Object.assign({}, l));
  frozenCopies.set(l, copy);
  return copy;
}

function sameFields(a: Limit, b: Limit): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => kb[i] === k && Object.is(a[k as keyof Limit], b[k as keyof Limit]));
}

export const reusedLevel = (lv: CounterLevel): CounterLevel => new ReusedLevel(lv.key, lv.tag, frozenCopy(lv.limit), lv.enforce);

/** The key of a reused check's memo (in-place.ts's LevelsMemo; a symbol, non-enumerable: copies never see it). */
export const LEVELS_MEMO: unique symbol = Symbol("levels memo");

/**
 * A hierarchy's levels reused across requests (a plan's, of `reusedLevel`s), never changed after (readonly,
 * not frozen: a frozen array's own elements kind made the one-level path slower), so the memory store may
 * remember their slots as a whole (LEVELS_MEMO) instead of level by level.
 */
export function reusedLevels(levels: CounterLevel[]): readonly CounterLevel[] {
  Object.defineProperty(levels, LEVELS_MEMO, { value: new LevelsMemo(), enumerable: false });
  return levels;
}

export interface Check {
  levels: readonly CounterLevel[];
  cost: number;
  /** envoyproxy/ratelimit quota_mode: the request is rejected only when every quota check is. */
  quota: boolean;
}

export interface CheckResult {
  allowed: boolean;
  /** Whether this check's charge was kept. */
  charged: boolean;
  /** Each level's own answer, in the check's order. */
  levels: Decision[];
}

export interface StateWrite {
  key: string;
  state: State;
  ttlMs: number;
}

/** Throws a LimitError naming what is wrong with a check (the stores call it before touching state). */
export function validateCheck(c: Check): void {
  if (c.levels.length === 0) throw new LimitError("a check needs at least one level");
  if (!Number.isInteger(c.cost) || c.cost < 0) throw new LimitError(`cost is ${c.cost}; expected an integer ≥ 0`);
  // Checks are short (a handful of levels): a pairwise scan beats building a Set on the hot path.
  for (let i = 0; i < c.levels.length; i++) {
    const lv = c.levels[i]!;
    if (!limitOk(lv.limit)) validateLimit(lv.limit, lv.key);
    for (let j = 0; j < i; j++) if (c.levels[j]!.key === lv.key) throw new LimitError(`level key "${lv.key}" appears twice in one check`);
  }
}

/** The request's overall answer from its checks' answers (quota-mode rule). */
export function requestAllowed(checks: readonly Check[], allowed: (i: number) => boolean): boolean {
  let quota = 0;
  let quotaRejected = 0;
  for (let i = 0; i < checks.length; i++) {
    const ok = allowed(i);
    if (checks[i]!.quota) {
      quota++;
      if (!ok) quotaRejected++;
    } else if (!ok) return false;
  }
  return quota === 0 || quotaRejected < quota;
}

/** What a level would have answered had its admitted cost not been charged. */
function uncharged(d: Decision, cost: number): Decision {
  return d.allowed && cost > 0 ? { ...d, remaining: Math.min(d.limit, d.remaining + cost) } : d;
}

/**
 * Decide one request's checks against `read` at `now`. Returns each check's result and the state
 * writes to apply (none for uncharged checks). Cost is linear in the number of levels.
 */
export function decideChecks(checks: readonly Check[], policy: ChargePolicy, read: (key: string) => State | undefined, now: number): { results: CheckResult[]; writes: StateWrite[] } {
  const pending = new Map<string, StateWrite>();
  const current = (key: string) => (pending.has(key) ? pending.get(key)!.state : read(key));
  const results: CheckResult[] = [];
  for (const c of checks) {
    const steps = c.levels.map((lv) => ({ lv, s: step(lv.limit, current(lv.key), c.cost, now) }));
    const allowed = steps.every(({ lv, s }) => s.decision.allowed || !lv.enforce);
    const writes: StateWrite[] = [];
    const levels: Decision[] = [];
    for (const { lv, s } of steps) {
      let d = allowed ? s.decision : uncharged(s.decision, c.cost);
      if (allowed && s.next) writes.push({ key: lv.key, state: s.next, ttlMs: s.ttlMs });
      else if (policy === "independent" && !s.decision.allowed && c.cost > 0 && lv.limit.algorithm === "fixed-window") {
        writes.push({ key: lv.key, state: fixedWindowCountRejected(lv.limit, current(lv.key), c.cost, now), ttlMs: s.ttlMs });
        d = { ...d, remaining: 0 };
      }
      levels.push(d);
    }
    for (const w of writes) pending.set(w.key, w);
    results.push({ allowed, charged: allowed, levels });
  }
  if (policy === "atomic" && !requestAllowed(checks, (i) => results[i]!.allowed))
    return { results: results.map((r, i) => ({ ...r, charged: false, levels: r.charged ? r.levels.map((d) => uncharged(d, checks[i]!.cost)) : r.levels })), writes: [] };
  // Later writes to one key supersede earlier ones (they were computed from them).
  return { results, writes: [...pending.values()] };
}
