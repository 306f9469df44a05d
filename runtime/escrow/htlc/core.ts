/**
 * Hash time-locked contracts (HTLC, outline §13.3.2) on an escrow ledger: the pure core. An HTLC locks
 * `qty` units of an asset from `owner` for `recipient` under a hashlock H = SHA-256(preimage) and a
 * timelock T (ms since the epoch, judged by the ledger's clock). `claim(preimage)` before T moves the
 * units to the recipient; `refund()` at or after T gives them back to the owner. Synchronous, clock
 * passed in, no I/O; the stores (store.ts, postgres.ts) apply these decisions in one atomic step.
 *
 * Invariants: a lock goes locked → claimed or locked → refunded and never leaves either (exactly one
 * outcome, whatever the clock does afterwards); claim and refund are idempotent (a replay answers
 * `duplicate`); and per asset  Σ available + Σ locked = supply  (units are only minted, locked,
 * moved to the recipient or returned).
 *
 * A lock's id is not the client's to choose: it is `htlcId(terms)`, SHA-256 over the owner, recipient, asset, qty,
 * hashlock and timelock (the HashedTimelock contracts' contractId, domain-separated). Ids chosen by clients were
 * global, so anyone who learnt a swap's agreed id could lock first under it and block the swap; a derived id names
 * one owner's one set of terms, so nobody else can take it, and a retried lock is a replay by construction.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export type HtlcStatus = "locked" | "claimed" | "refunded";

/** What a lock binds: its id is derived from these (htlcId). */
export interface LockTerms {
  asset: string;
  owner: string;
  recipient: string;
  qty: number;
  /** SHA-256 of the preimage, 64 lower-case hex digits. */
  hashlock: string;
  /** Claims are accepted while the ledger's clock reads < timelockMs; refunds from then on. */
  timelockMs: number;
}

/**
 * A lock as a ledger takes it. `id` is htlcId(terms) unless given: only an in-process caller that must place a lock
 * under a name of its own gives one (a fixture, an operator's tooling); the HTTP routes never do. Rows a ledger
 * already holds under ids clients chose before ids were derived keep them (get, claim and refund by the stored id).
 */
export interface LockRequest extends LockTerms {
  id?: string;
}

export interface Htlc extends LockTerms {
  id: string;
  status: HtlcStatus;
  /** The preimage (hex), public once a claim revealed it. */
  preimage: string | null;
  lockedAtMs: number;
  settledAtMs: number | null;
}

export type LockRefusal = "invalid" | "insufficient" | "conflict" | "expired";
export type ClaimRefusal = "unknown" | "not-recipient" | "wrong-preimage" | "expired" | "refunded";
export type RefundRefusal = "unknown" | "not-owner" | "not-yet" | "claimed";

/** What a store must do: write `htlc` (and move its units), answer a replay, or refuse with a reason. */
export type Decision<R extends string> = { kind: "apply"; htlc: Htlc } | { kind: "duplicate"; htlc: Htlc } | { kind: "refuse"; reason: R; detail: string };

/** The domain of htlcId's input: bump it (v2) if the encoding or the fields ever change. */
export const HTLC_ID_DOMAIN = "meridian-htlc/v1";
const LONE_SURROGATE = /\p{Cs}/u;

function field(s: string): Buffer {
  // A lone surrogate would be written as U+FFFD: "x\uD800" and "x\uFFFD" would share an id.
  if (LONE_SURROGATE.test(s)) throw new RangeError(`htlc id: ${JSON.stringify(s)} is not well-formed Unicode`);
  const bytes = Buffer.from(s, "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function decimal(what: string, n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`htlc id: ${what} ${n} is not a safe integer`);
  return String(n);
}

/**
 * The bytes htlcId hashes: seven fields, each its UTF-8 byte length as 4 bytes big-endian then the bytes —
 *   "meridian-htlc/v1", owner, recipient, asset, qty in decimal, hashlock (64 hex digits as text), timelockMs in decimal
 * — so no two distinct term tuples encode alike (a length prefix fixes every boundary; a safe integer has one decimal
 * form). A RangeError for a lone surrogate or a number that is not a safe integer (no canonical encoding).
 */
export function htlcIdInput(t: LockTerms): Buffer {
  return Buffer.concat([HTLC_ID_DOMAIN, t.owner, t.recipient, t.asset, decimal("qty", t.qty), t.hashlock, decimal("timelockMs", t.timelockMs)].map(field));
}

/** A lock's id: SHA-256 of htlcIdInput, 64 lower-case hex digits. */
export function htlcId(t: LockTerms): string {
  return createHash("sha256").update(htlcIdInput(t)).digest("hex");
}

const PREIMAGE = /^[0-9a-f]{2,128}$/;

export function hashlockOf(preimageHex: string): string {
  return createHash("sha256").update(Buffer.from(preimageHex, "hex")).digest("hex");
}

function opens(h: Htlc, preimageHex: string): boolean {
  if (!PREIMAGE.test(preimageHex) || preimageHex.length % 2 !== 0) return false;
  return timingSafeEqual(Buffer.from(hashlockOf(preimageHex), "hex"), Buffer.from(h.hashlock, "hex"));
}

const sameTerms = (h: LockTerms, r: LockTerms) =>
  h.asset === r.asset && h.owner === r.owner && h.recipient === r.recipient && h.qty === r.qty && h.hashlock === r.hashlock && h.timelockMs === r.timelockMs;

const HASHLOCK = /^[0-9a-f]{64}$/;

/** Why a lock's terms are not ones a ledger can hold (a positive whole qty, a whole-ms timelock, a SHA-256 hashlock), or null. */
function invalidTerms(req: LockTerms): string | null {
  if (!Number.isSafeInteger(req.qty) || req.qty <= 0) return `qty ${req.qty}: expected a positive whole number of units`;
  if (!Number.isSafeInteger(req.timelockMs)) return `timelock ${req.timelockMs}: expected whole ms since the epoch`;
  if (!HASHLOCK.test(req.hashlock)) return "hashlock: expected SHA-256 of the preimage, 64 lower-case hex digits";
  for (const k of ["owner", "recipient", "asset"] as const) if (LONE_SURROGATE.test(req[k])) return `${k}: expected well-formed Unicode`;
  return null;
}

/**
 * A lock request with its id: the terms checked (a refusal `invalid` otherwise, before any id is derived from them)
 * and the id filled in with htlcId(terms) unless the caller gave one (LockRequest).
 */
export function identifyLock(req: LockRequest): { kind: "ok"; req: LockRequest & { id: string } } | { kind: "refuse"; reason: "invalid"; detail: string } {
  const invalid = invalidTerms(req);
  if (invalid) return { kind: "refuse", reason: "invalid", detail: invalid };
  return { kind: "ok", req: { ...req, id: req.id ?? htlcId(req) } };
}

/** A quantity a ledger may mint: a positive whole number of units (a RangeError otherwise). */
export function checkMintQty(qty: number): void {
  if (!Number.isSafeInteger(qty) || qty <= 0) throw new RangeError(`mint: qty ${qty}: expected a positive whole number of units`);
}

/**
 * An asset's supply after a mint must stay a safe integer (2^53 - 1): every balance and total is read back as a
 * JS number, and past it they round, so Σ available + Σ locked = supply could no longer be checked (a RangeError).
 */
export function checkSupply(asset: string, supply: bigint): void {
  if (supply > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`mint: ${asset}'s supply would be ${supply}, past 2^53 - 1 units`);
}

/**
 * Lock: the terms must be valid (a negative or NaN qty would create units), the owner's `available` units of the
 * asset must cover qty; the same id again is a replay only with the same terms (with a derived id, always: another
 * set of terms is another id; a conflict is left only for ids a caller gave, LockRequest).
 */
export function decideLock(existing: Htlc | undefined, req: LockRequest & { id: string }, available: number, nowMs: number): Decision<LockRefusal> {
  const invalid = invalidTerms(req);
  if (invalid) return { kind: "refuse", reason: "invalid", detail: invalid };
  if (existing) {
    if (sameTerms(existing, req)) return { kind: "duplicate", htlc: existing };
    return { kind: "refuse", reason: "conflict", detail: `lock ${req.id} exists with other terms` };
  }
  if (req.timelockMs <= nowMs) return { kind: "refuse", reason: "expired", detail: `timelock ${req.timelockMs} is not after the ledger's clock ${nowMs}` };
  if (available < req.qty) return { kind: "refuse", reason: "insufficient", detail: `${req.owner} has ${available} ${req.asset} available; ${req.qty} asked` };
  return { kind: "apply", htlc: { ...req, status: "locked", preimage: null, lockedAtMs: nowMs, settledAtMs: null } };
}

/** Claim: only the recipient, only with the preimage, only before the timelock, only while locked. */
export function decideClaim(h: Htlc | undefined, preimageHex: string, caller: string, nowMs: number): Decision<ClaimRefusal> {
  if (!h) return { kind: "refuse", reason: "unknown", detail: "no such lock" };
  if (caller !== h.recipient) return { kind: "refuse", reason: "not-recipient", detail: `only ${h.recipient} may claim ${h.id}` };
  if (!opens(h, preimageHex)) return { kind: "refuse", reason: "wrong-preimage", detail: `SHA-256 of the preimage is not ${h.hashlock}` };
  if (h.status === "claimed") return { kind: "duplicate", htlc: h };
  if (h.status === "refunded") return { kind: "refuse", reason: "refunded", detail: `${h.id} was refunded to ${h.owner}` };
  if (nowMs >= h.timelockMs) return { kind: "refuse", reason: "expired", detail: `the timelock ${h.timelockMs} has passed (ledger clock ${nowMs}); only a refund is possible` };
  return { kind: "apply", htlc: { ...h, status: "claimed", preimage: preimageHex, settledAtMs: nowMs } };
}

/** Refund: only the owner, only at or after the timelock, only while locked. */
export function decideRefund(h: Htlc | undefined, caller: string, nowMs: number): Decision<RefundRefusal> {
  if (!h) return { kind: "refuse", reason: "unknown", detail: "no such lock" };
  if (caller !== h.owner) return { kind: "refuse", reason: "not-owner", detail: `only ${h.owner} may refund ${h.id}` };
  if (h.status === "refunded") return { kind: "duplicate", htlc: h };
  if (h.status === "claimed") return { kind: "refuse", reason: "claimed", detail: `${h.id} was claimed by ${h.recipient}` };
  if (nowMs < h.timelockMs) return { kind: "refuse", reason: "not-yet", detail: `refundable from ${h.timelockMs} (ledger clock ${nowMs})` };
  return { kind: "apply", htlc: { ...h, status: "refunded", settledAtMs: nowMs } };
}

/** Per asset: supply = available + locked (units moved to a recipient are in their available). */
export interface AssetTotals {
  asset: string;
  supply: number;
  available: number;
  locked: number;
}

/** Who a settled lock's units go to. */
export const beneficiary = (h: Htlc): string | null => (h.status === "claimed" ? h.recipient : h.status === "refunded" ? h.owner : null);
