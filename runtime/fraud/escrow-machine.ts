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
import { hash } from "node:crypto";

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

interface ReservationLeaf {
  buyer: string;
  qty: number;
  region: string;
  expiresAt: number;
  status: "reserved" | "sold" | "refunded";
}

export const freeKey = (sku: string, region: string) => JSON.stringify(["free", sku, region]);
const soldKey = (sku: string, region: string) => JSON.stringify(["sold", sku, region]);
const resKey = (sku: string, id: string) => JSON.stringify(["res", sku, id]);
/** The SMT key of a leaf name. */
export const smtKey = (name: string): Buffer => hash("sha256", Buffer.from(name, "utf8"), "buffer");
/** A buyer's pseudonym in the log. */
export const buyerOf = (user: string): string => hash("sha256", Buffer.from(user, "utf8"), "hex");

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
  for (const f of ["sku", "region", "id"]) if (want.includes(f) && (typeof o[f] !== "string" || !NAME.test(o[f] as string))) return `${f} is not a name (1-128 printable ASCII)`;
  if (want.includes("buyer") && (typeof o.buyer !== "string" || !/^[0-9a-f]{64}$/.test(o.buyer))) return "buyer is not a SHA-256 pseudonym";
  if (want.includes("qty") && (!Number.isSafeInteger(o.qty) || (o.qty as number) <= 0)) return "qty is not a positive integer";
  for (const f of ["expiresAt", "at"]) if (want.includes(f) && (!Number.isSafeInteger(o[f]) || (o[f] as number) < 0)) return `${f} is not a time in ms`;
  return o as EscrowTx;
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

function count(v: string | undefined, name: string): bigint | string {
  if (v === undefined) return 0n;
  return /^[1-9][0-9]{0,30}$/.test(v) ? BigInt(v) : `leaf ${name} holds ${JSON.stringify(v)}, not a count`;
}
const countText = (n: bigint) => (n === 0n ? undefined : n.toString(10));

function reservation(v: string | undefined): ReservationLeaf | undefined | string {
  if (v === undefined) return undefined;
  try {
    const r = JSON.parse(v) as ReservationLeaf;
    if (v === resText(r)) return r;
  } catch {
    // fall through
  }
  return `reservation leaf ${JSON.stringify(v.slice(0, 80))} is not canonical`;
}
const resText = (r: ReservationLeaf) => JSON.stringify({ buyer: r.buyer, qty: r.qty, region: r.region, expiresAt: r.expiresAt, status: r.status });

/**
 * Apply a tx to its touched leaves: the leaves after it, or why the tx is invalid (the reason names the fraud: an
 * oversell, a double commit, someone else's reservation…).
 */
export function executeEscrow(tx: EscrowTx, before: Leaves): Map<string, string | undefined> | string {
  const out = new Map(before);
  const free = freeKey(tx.sku, tx.region);
  const addFree = (delta: bigint): string | undefined => {
    const f = count(out.get(free), free);
    if (typeof f === "string") return f;
    if (f + delta < 0n) return `oversell: ${tx.region} has ${f} free units of ${tx.sku}, ${tx.op} takes ${-delta}`;
    out.set(free, countText(f + delta));
    return undefined;
  };
  if (isUnits(tx)) return addFree(BigInt(tx.op === "refill" ? tx.qty : -tx.qty)) ?? out;
  const rk = resKey(tx.sku, tx.id);
  const r = reservation(out.get(rk));
  if (typeof r === "string") return r;
  if (tx.op === "reserve") {
    if (r !== undefined) return `reservation ${tx.id} already exists (${r.status}): an id is issued once`;
    const bad = addFree(BigInt(-tx.qty));
    if (bad) return bad;
    out.set(rk, resText({ buyer: tx.buyer, qty: tx.qty, region: tx.region, expiresAt: tx.expiresAt, status: "reserved" }));
    return out;
  }
  if (r === undefined) return `${tx.op} of reservation ${tx.id}, which does not exist`;
  if (r.region !== tx.region) return `${tx.op} in ${tx.region} of reservation ${tx.id}, held in ${r.region}`;
  if (tx.op === "refund") {
    if (r.status !== "sold") return `refund of reservation ${tx.id}, which is ${r.status}, not sold`;
    const sk = soldKey(tx.sku, tx.region);
    const s = count(out.get(sk), sk);
    if (typeof s === "string") return s;
    if (s < BigInt(r.qty)) return `refund of ${r.qty} units when ${tx.region} has sold ${s}`;
    out.set(sk, countText(s - BigInt(r.qty)));
    out.set(rk, resText({ ...r, status: "refunded" }));
    return out;
  }
  if (r.status !== "reserved") return `${tx.op} of reservation ${tx.id}, which is ${r.status}${r.status === "sold" && tx.op === "commit" ? " (double commit)" : ""}`;
  if ((tx.op === "commit" || tx.op === "cancel") && tx.buyer !== r.buyer) return `${tx.op} of reservation ${tx.id} by buyer ${tx.buyer.slice(0, 12)}…, not its own buyer ${r.buyer.slice(0, 12)}…`;
  if (tx.op === "commit") {
    const sk = soldKey(tx.sku, tx.region);
    const s = count(out.get(sk), sk);
    if (typeof s === "string") return s;
    out.set(sk, countText(s + BigInt(r.qty)));
    out.set(rk, resText({ ...r, status: "sold" }));
    return out;
  }
  if (tx.op === "expire" && tx.at < r.expiresAt) return `expire of reservation ${tx.id} at ${tx.at}, before its expiry ${r.expiresAt}`;
  out.set(rk, undefined);
  if (tx.op === "void") return out;
  return addFree(BigInt(r.qty)) ?? out;
}
