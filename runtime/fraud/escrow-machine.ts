/**
 * The escrow ledger as a state machine for fraud proofs: the operations a region's ledger (runtime/escrow/core/
 * ledger.ts) really performs, as transactions over a sparse Merkle tree of three kinds of leaf —
 *
 *   ["free", sku, region]  units the region's lease holds and has not reserved (decimal; absent = 0)
 *   ["sold", sku, region]  units the region has sold and not refunded (decimal; absent = 0)
 *   ["res", sku, id]       a reservation: {buyer, qty, region, expiresAt, status: reserved | sold | refunded}
 *
 * The SMT key of a leaf is SHA-256 of its JSON name. Buyers appear as SHA-256 of their subject (a pseudonym: the log
 * is public, the check "commits only its own buyer's reservation" still works on it). Every tx touches at most two
 * leaves, so re-executing one needs only those leaves and their batch proof under the pre root.
 *
 * What a tx may do (anything else is a fraudulent transition):
 *   refill  free += qty                 units granted to the lease by the store (the pool is the store's, outside this log)
 *   debit   free -= qty, qty ≤ free     units given to another region, shrunk to the store's count, or lost with the lease
 *   reserve free -= qty, qty ≤ free; a new reservation (no oversell, an id is issued once)
 *   commit  reserved → sold, sold += qty; only the reservation's own buyer, in its own region (no double commit)
 *   cancel  reserved → gone, free += qty; only its own buyer
 *   expire  reserved → gone, free += qty; only at or after its expiry
 *   void    reserved → gone (its units left with a lost lease)
 *   refund  sold → refunded, sold −= qty (the units go back to the store's pool)
 */
import { sha256Text } from "../prooflog/index.js";

export type EscrowTx =
  | { op: "refill" | "debit"; sku: string; region: string; qty: number }
  | { op: "reserve"; sku: string; region: string; id: string; buyer: string; qty: number; expiresAt: number }
  | { op: "commit" | "cancel"; sku: string; region: string; id: string; buyer: string }
  | { op: "expire"; sku: string; region: string; id: string; at: number }
  | { op: "void" | "refund"; sku: string; region: string; id: string };

type UnitsTx = Extract<EscrowTx, { op: "refill" | "debit" }>;
const isUnits = (tx: EscrowTx): tx is UnitsTx => tx.op === "refill" || tx.op === "debit";

/** A leaf's value as the machine reads and writes it: the canonical text, or undefined when absent. */
export type Leaves = ReadonlyMap<string, string | undefined>;

export interface ReservationLeaf {
  buyer: string;
  qty: number;
  region: string;
  expiresAt: number;
  status: "reserved" | "sold" | "refunded";
}

export const freeKey = (sku: string, region: string) => unitNames(sku, region).free;
const soldKey = (sku: string, region: string) => unitNames(sku, region).sold;
/**
 * The names of a (sku, region)'s counters, made once: a sale's txs name the same few again and again, and the same
 * string each time hashes once as a map key (a bounded memo: txs from outside may name any number).
 */
const unitMemo = new Map<string, Map<string, { free: string; sold: string }>>();
function unitNames(sku: string, region: string): { free: string; sold: string } {
  let bySku = unitMemo.get(sku);
  if (bySku === undefined) {
    if (unitMemo.size >= 256) unitMemo.clear();
    unitMemo.set(sku, (bySku = new Map()));
  }
  let n = bySku.get(region);
  if (n === undefined) {
    if (bySku.size >= 256) bySku.clear();
    bySku.set(region, (n = { free: JSON.stringify(["free", sku, region]), sold: JSON.stringify(["sold", sku, region]) }));
  }
  return n;
}
const resKey = (sku: string, id: string) => JSON.stringify(["res", sku, id]);
/** The SMT key of a leaf name. */
export const smtKey = (name: string): Buffer => sha256Text(name); // its UTF-8's
/** A buyer's pseudonym in the log. */
export const buyerOf = (user: string): string => sha256Text(user).toString("hex");

const NAME = /^[\x21-\x7e]{1,128}$/;
const FIELDS: Record<EscrowTx["op"], string[]> = {
  refill: ["qty"],
  debit: ["qty"],
  reserve: ["id", "buyer", "qty", "expiresAt"],
  commit: ["id", "buyer"],
  cancel: ["id", "buyer"],
  expire: ["id", "at"],
  void: ["id"],
  refund: ["id"],
};

/** The tx if it is well-formed, or why not. */
export function parseEscrowTx(tx: unknown): EscrowTx | string {
  if (typeof tx !== "object" || tx === null || Array.isArray(tx)) return "tx is not an object";
  const o = tx as Record<string, unknown>;
  if (typeof o.op !== "string" || !Object.hasOwn(FIELDS, o.op)) return `op ${JSON.stringify(o.op)} is not an escrow ledger operation`;
  const want = ["op", "sku", "region", ...FIELDS[o.op as EscrowTx["op"]]];
  const extra = Object.keys(o).filter((k) => !want.includes(k));
  if (extra.length) return `${o.op} has extra fields ${extra.join(", ")}`;
  return checkEscrowFields(o as EscrowTx) ?? (o as EscrowTx);
}

const BUYER = /^[0-9a-f]{64}$/;
const isName = (v: unknown) => typeof v === "string" && NAME.test(v);
const isTime = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Why a tx of the right shape (a known op, exactly its fields: what `parseEscrowTx` checks first, or a tx the caller
 * built so) is not well-formed, field by field in `parseEscrowTx`'s order; undefined when it is.
 */
export function checkEscrowFields(tx: EscrowTx): string | undefined {
  const o = tx as Partial<Record<string, unknown>>;
  if (!isName(o.sku)) return "sku is not a name (1-128 printable ASCII)";
  if (!isName(o.region)) return "region is not a name (1-128 printable ASCII)";
  const op = tx.op;
  if (op !== "refill" && op !== "debit" && !isName(o.id)) return "id is not a name (1-128 printable ASCII)";
  if ((op === "reserve" || op === "commit" || op === "cancel") && (typeof o.buyer !== "string" || !BUYER.test(o.buyer))) return "buyer is not a SHA-256 pseudonym";
  if ((op === "refill" || op === "debit" || op === "reserve") && (!Number.isSafeInteger(o.qty) || (o.qty as number) <= 0)) return "qty is not a positive integer";
  if (op === "reserve" && !isTime(o.expiresAt)) return "expiresAt is not a time in ms";
  if (op === "expire" && !isTime(o.at)) return "at is not a time in ms";
  return undefined;
}

/** The leaves a tx reads and writes, in a fixed order. */
export function escrowKeys(tx: EscrowTx): string[] {
  const free = freeKey(tx.sku, tx.region);
  if (isUnits(tx)) return [free];
  const res = resKey(tx.sku, tx.id);
  if (tx.op === "reserve" || tx.op === "cancel" || tx.op === "expire") return [free, res];
  if (tx.op === "void") return [res];
  return [res, soldKey(tx.sku, tx.region)];
}

/** A count: a number while it is exact (≤ 15 digits, sums checked), else a bigint — the same decimal either way. */
type Count = number | bigint;
const COUNT = /^[1-9][0-9]{0,30}$/;
function count(v: string | undefined, name: string): Count | string {
  if (v === undefined) return 0;
  if (!COUNT.test(v)) return `leaf ${name} holds ${JSON.stringify(v)}, not a count`;
  return v.length <= 15 ? Number(v) : BigInt(v);
}
/**
 * a + b, exactly. `b` is a tx's qty or a reservation leaf's, which only a valid log makes a safe integer: any other b
 * goes the bigint way, which throws for one that is no integer (a double sum of it could round to an integer).
 */
function plus(a: Count, b: number): Count {
  if (typeof a === "number" && Number.isSafeInteger(b)) {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s; // both safe and the sum too: exact
  }
  return BigInt(a) + BigInt(b);
}
const countText = (n: Count) => (n === 0 || n === 0n ? undefined : n.toString(10));

function reservation(v: string | undefined): ReservationLeaf | undefined | string {
  if (v === undefined) return undefined;
  try {
    const r = JSON.parse(v) as ReservationLeaf;
    // Canonical text alone would take a qty of 1.5 or 4e15 + 0.5 (a forged state's: reserve logs safe integers only),
    // which a count must never be summed with.
    if (v === resText(r) && Number.isSafeInteger(r.qty) && r.qty > 0 && Number.isSafeInteger(r.expiresAt)) return r;
  } catch {
    // fall through
  }
  return `reservation leaf ${JSON.stringify(v.slice(0, 80))} is not canonical`;
}
const resText = (r: ReservationLeaf) => JSON.stringify({ buyer: r.buyer, qty: r.qty, region: r.region, expiresAt: r.expiresAt, status: r.status });

/**
 * The touched leaves as `stepEscrow` reads and writes them: a leaf's text (undefined: absent). `reservation`, when
 * given, is what a reservation leaf's text parses to if the store knows it (it was written with it, and is never
 * changed), or null when it does not: the parse and its canonical check are then skipped.
 */
export interface EscrowLeafIO {
  get(name: string): string | undefined;
  set(name: string, value: string | undefined, parsed?: ReservationLeaf): void;
  reservation?(name: string): ReservationLeaf | null;
}

/**
 * Apply a tx to its touched leaves: the leaves after it, or why the tx is invalid (the reason names the fraud: an
 * oversell, a double commit, someone else's reservation…).
 */
export function executeEscrow(tx: EscrowTx, before: Leaves): Map<string, string | undefined> | string {
  const out = new Map(before);
  return stepEscrow(tx, { get: (k) => out.get(k), set: (k, v) => void out.set(k, v) }) ?? out;
}

/**
 * `executeEscrow` on a leaf store: writes the leaves the tx changes (each at most once, after reading it; a value
 * written may equal the one read), or returns why the tx is invalid — its writes then are to be dropped.
 */
export function stepEscrow(tx: EscrowTx, io: EscrowLeafIO): string | undefined {
  if (isUnits(tx)) return addFree(tx, io, tx.op === "refill" ? tx.qty : -tx.qty);
  const rk = resKey(tx.sku, tx.id);
  const r = io.reservation?.(rk) ?? reservation(io.get(rk));
  if (typeof r === "string") return r;
  if (tx.op === "reserve") {
    if (r !== undefined) return `reservation ${tx.id} already exists (${r.status}): an id is issued once`;
    const bad = addFree(tx, io, -tx.qty);
    if (bad) return bad;
    const made: ReservationLeaf = { buyer: tx.buyer, qty: tx.qty, region: tx.region, expiresAt: tx.expiresAt, status: "reserved" };
    io.set(rk, resText(made), made);
    return undefined;
  }
  if (r === undefined) return `${tx.op} of reservation ${tx.id}, which does not exist`;
  if (r.region !== tx.region) return `${tx.op} in ${tx.region} of reservation ${tx.id}, held in ${r.region}`;
  if (tx.op === "refund") {
    if (r.status !== "sold") return `refund of reservation ${tx.id}, which is ${r.status}, not sold`;
    const sk = soldKey(tx.sku, tx.region);
    const s = count(io.get(sk), sk);
    if (typeof s === "string") return s;
    if (s < r.qty) return `refund of ${r.qty} units when ${tx.region} has sold ${s}`;
    io.set(sk, countText(plus(s, -r.qty)));
    const refunded: ReservationLeaf = { ...r, status: "refunded" };
    io.set(rk, resText(refunded), refunded);
    return undefined;
  }
  if (r.status !== "reserved") return `${tx.op} of reservation ${tx.id}, which is ${r.status}${r.status === "sold" && tx.op === "commit" ? " (double commit)" : ""}`;
  if ((tx.op === "commit" || tx.op === "cancel") && tx.buyer !== r.buyer) return `${tx.op} of reservation ${tx.id} by buyer ${tx.buyer.slice(0, 12)}…, not its own buyer ${r.buyer.slice(0, 12)}…`;
  if (tx.op === "commit") {
    const sk = soldKey(tx.sku, tx.region);
    const s = count(io.get(sk), sk);
    if (typeof s === "string") return s;
    io.set(sk, countText(plus(s, r.qty)));
    const sold: ReservationLeaf = { ...r, status: "sold" };
    io.set(rk, resText(sold), sold);
    return undefined;
  }
  if (tx.op === "expire" && tx.at < r.expiresAt) return `expire of reservation ${tx.id} at ${tx.at}, before its expiry ${r.expiresAt}`;
  io.set(rk, undefined);
  if (tx.op === "void") return undefined;
  return addFree(tx, io, r.qty);
}

/** free += delta (a safe integer) for the tx's (sku, region), refused below 0. */
function addFree(tx: EscrowTx, io: EscrowLeafIO, delta: number): string | undefined {
  const free = freeKey(tx.sku, tx.region);
  const f = count(io.get(free), free);
  if (typeof f === "string") return f;
  const after = plus(f, delta);
  if (after < 0) return `oversell: ${tx.region} has ${f} free units of ${tx.sku}, ${tx.op} takes ${-delta}`;
  io.set(free, countText(after));
  return undefined;
}
