/**
 * A cross-ledger atomic swap with HTLCs (outline §13.3.2): Alice gives `a` units on ledger 1 for Bob's
 * `b` units on ledger 2. Alice picks a secret preimage and locks on L1 for Bob under H = SHA-256(preimage)
 * until T1; Bob checks that lock and locks on L2 for Alice under the same H until T2; Alice checks Bob's
 * lock and claims it, which reveals the preimage on L2; Bob's watcher reads it there and claims on L1.
 * If anyone vanishes, each side refunds its own lock after its timelock.
 *
 * Why nobody loses: Alice reveals the preimage only through a claim on L2 that the ledger accepts before
 * T2 (so Bob's units are hers), and Bob must then have time to claim on L1 before T1. Each ledger judges
 * its timelock by its own clock, within ε of true time (the clock layer's bound: the escrow config's
 * maxOffsetMs, enforced by runtime/clock's ClockNode, which stops a node whose ε exceeds it). Alice's claim
 * is accepted at true time < T2 + ε at the latest; Bob's claim on L1 is accepted while true time < T1 − ε;
 * so Bob's window is T1 − T2 − 2ε, which must exceed his reaction time Δ (watch interval + claim latency):
 *   T2 ≤ T1 − 2ε − Δ   (`swapTimelocks`).
 * Alice, for the same reason, does not reveal when her own clock reads ≥ T2 − 2ε − Δ: a late claim
 * might be refused on L2 after the preimage left her hands.
 */
import { randomBytes } from "node:crypto";
import type { Htlc, LockTerms } from "./core.js";
import { hashlockOf, htlcId } from "./core.js";
import type { HtlcLedger } from "./store.js";

/**
 * What Alice and Bob agree. The two locks' ids are not part of it: each ledger derives a lock's id from its terms
 * (core.ts htlcId), so each party computes both from these and the hashlock (swapLockIds), and nobody else can
 * take them.
 */
export interface SwapTerms {
  alice: string;
  bob: string;
  /** Alice's units on L1 and Bob's units on L2. */
  leg1: { asset: string; qty: number };
  leg2: { asset: string; qty: number };
  t1Ms: number;
  t2Ms: number;
}

export interface SwapTiming {
  /** The clock layer's bound on any ledger clock's offset from true time (ε, ms). */
  epsilonMs: number;
  /** How long a party needs from seeing the preimage to its claim being committed (ms). */
  reactionMs: number;
}

/** The margin between the two timelocks: 2ε + Δ. */
const swapMargin = (t: SwapTiming): number => 2 * t.epsilonMs + t.reactionMs;

/**
 * Why ε and Δ cannot be trusted, or null. Every check below compares against T − 2ε − Δ; with NaN in it each
 * comparison is false, so a NaN (an unset config value) would pass them all, and a negative ε or Δ would shrink the
 * margin below what the clocks need: fail closed instead.
 */
function timingProblem(t: SwapTiming): string | null {
  const ok = (v: number) => Number.isFinite(v) && v >= 0;
  return ok(t.epsilonMs) && ok(t.reactionMs) ? null : `ε ${t.epsilonMs} and Δ ${t.reactionMs} must be finite, non-negative ms`;
}

/** T2 for a given T1 (T2 = T1 − 2ε − Δ); a range error when the two would not leave T2 in the future of `nowMs`. */
export function swapTimelocks(nowMs: number, t1Ms: number, t: SwapTiming): { t1Ms: number; t2Ms: number } {
  const problem = timingProblem(t);
  if (problem) throw new RangeError(problem);
  const t2Ms = t1Ms - swapMargin(t);
  if (!(t2Ms - swapMargin(t) > nowMs)) throw new RangeError(`T1 ${t1Ms} leaves no time for the second leg: T2 = ${t2Ms} must be later than now ${nowMs} + 2ε + Δ`);
  return { t1Ms, t2Ms };
}

/** The lock of one leg: L1's Alice → Bob until T1, L2's Bob → Alice until T2. */
function legTerms(terms: SwapTerms, hashlock: string, leg: 1 | 2): LockTerms {
  return leg === 1
    ? { asset: terms.leg1.asset, owner: terms.alice, recipient: terms.bob, qty: terms.leg1.qty, hashlock, timelockMs: terms.t1Ms }
    : { asset: terms.leg2.asset, owner: terms.bob, recipient: terms.alice, qty: terms.leg2.qty, hashlock, timelockMs: terms.t2Ms };
}

/** The ids the ledgers give the swap's two locks (htlcId of each leg's terms). */
export function swapLockIds(terms: SwapTerms, hashlock: string): { l1: string; l2: string } {
  return { l1: htlcId(legTerms(terms, hashlock, 1)), l2: htlcId(legTerms(terms, hashlock, 2)) };
}
const lockId = (terms: SwapTerms, hashlock: string, leg: 1 | 2) => htlcId(legTerms(terms, hashlock, leg));

/** Alice's secret and its hashlock. */
export function newSecret(): { preimage: string; hashlock: string } {
  const preimage = randomBytes(32).toString("hex");
  return { preimage, hashlock: hashlockOf(preimage) };
}

type Verdict = { ok: true } | { ok: false; detail: string };

/** Does the lock on the ledger match what this party was promised? */
function matches(h: Htlc | null, owner: string, recipient: string, leg: { asset: string; qty: number }, hashlock: string, timelockMs: number): Verdict {
  if (!h) return { ok: false, detail: "no lock" };
  if (h.status !== "locked") return { ok: false, detail: `lock is ${h.status}` };
  if (h.owner !== owner || h.recipient !== recipient) return { ok: false, detail: `lock is from ${h.owner} to ${h.recipient}` };
  if (h.asset !== leg.asset || h.qty < leg.qty) return { ok: false, detail: `lock holds ${h.qty} ${h.asset}` };
  if (h.hashlock !== hashlock) return { ok: false, detail: "lock has another hashlock" };
  if (h.timelockMs !== timelockMs) return { ok: false, detail: `lock's timelock is ${h.timelockMs}, not ${timelockMs}` };
  return { ok: true };
}

/** Step 1 (Alice): lock her leg on L1 for Bob until T1. */
export async function aliceLocks(l1: HtlcLedger, terms: SwapTerms, hashlock: string, nowMs: number) {
  return l1.lock(legTerms(terms, hashlock, 1), nowMs);
}

/** Step 2 (Bob): only once Alice's lock on L1 is there as agreed, with T2 ≤ T1 − 2ε − Δ, lock his leg on L2 for Alice until T2. */
export async function bobLocks(l1: HtlcLedger, l2: HtlcLedger, terms: SwapTerms, hashlock: string, timing: SwapTiming, nowMs: number) {
  const problem = timingProblem(timing);
  if (problem) return { ok: false as const, reason: "unsafe-timelocks", detail: problem };
  if (!(terms.t2Ms <= terms.t1Ms - swapMargin(timing))) return { ok: false as const, reason: "unsafe-timelocks", detail: `T2 ${terms.t2Ms} > T1 ${terms.t1Ms} − 2ε − Δ` };
  const v = matches(await l1.get(lockId(terms, hashlock, 1)), terms.alice, terms.bob, terms.leg1, hashlock, terms.t1Ms);
  if (!v.ok) return { ok: false as const, reason: "no-counter-lock", detail: `L1: ${v.detail}` };
  return l2.lock(legTerms(terms, hashlock, 2), nowMs);
}

/** Step 3 (Alice): only once Bob's lock on L2 is there as agreed, and while her clock leaves the margin before T2, claim it (revealing the preimage). */
export async function aliceClaims(l2: HtlcLedger, terms: SwapTerms, preimage: string, timing: SwapTiming, nowMs: number) {
  const problem = timingProblem(timing);
  if (problem) return { ok: false as const, reason: "unsafe-timelocks", detail: problem };
  const id2 = lockId(terms, hashlockOf(preimage), 2);
  const v = matches(await l2.get(id2), terms.bob, terms.alice, terms.leg2, hashlockOf(preimage), terms.t2Ms);
  if (!v.ok) {
    const h = await l2.get(id2);
    if (h?.status === "claimed" && h.preimage === preimage) return { ok: true as const, htlc: h, duplicate: true };
    return { ok: false as const, reason: "no-counter-lock", detail: `L2: ${v.detail}` };
  }
  if (!(nowMs < terms.t2Ms - swapMargin(timing))) return { ok: false as const, reason: "too-late", detail: `too close to T2 ${terms.t2Ms} to reveal the preimage safely (now ${nowMs})` };
  return l2.claim(id2, preimage, terms.alice, nowMs);
}

export type WatchAction = "claimed" | "refunded" | "waiting" | "done";

/**
 * One pass of a party's watcher (run it on a timer; every step is idempotent, so a watcher that crashed
 * just runs again). Bob's: claim L1 as soon as L2 shows the preimage; refund L2 from T2 on. Alice's:
 * refund L1 from T1 on if Bob never claimed it (if she claimed L2, he can; if not, the lock is hers again).
 */
export async function watch(party: "alice" | "bob", l1: HtlcLedger, l2: HtlcLedger, terms: SwapTerms, hashlock: string, now: { l1: number; l2: number }): Promise<WatchAction> {
  const one = await l1.get(lockId(terms, hashlock, 1));
  const two = await l2.get(lockId(terms, hashlock, 2));
  if (party === "bob") {
    if (two?.status === "claimed" && one?.status === "locked") {
      const r = await l1.claim(one.id, two.preimage!, terms.bob, now.l1);
      return r.ok ? "claimed" : "waiting";
    }
    if (two?.status === "locked" && now.l2 >= two.timelockMs) return (await l2.refund(two.id, terms.bob, now.l2)).ok ? "refunded" : "waiting";
    return one?.status === "claimed" || two?.status === "refunded" || (!two && one?.status === "refunded") ? "done" : "waiting";
  }
  if (one?.status === "locked" && now.l1 >= one.timelockMs) return (await l1.refund(one.id, terms.alice, now.l1)).ok ? "refunded" : "waiting";
  return one && one.status !== "locked" ? "done" : "waiting";
}
