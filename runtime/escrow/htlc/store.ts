/**
 * The HTLC ledger port and its embedded (memory) adapter. Every operation is one atomic step (a JS
 * call here, a PostgreSQL transaction in postgres.ts) that applies a core decision (core.ts) and moves
 * the units with it, so supply = Σ available + Σ locked holds in the store at every instant. `snapshot`
 * and `MemoryHtlcLedger.restore` stand for a durable copy (the property tests crash and restore it).
 */
import {
  beneficiary,
  checkMintQty,
  checkSupply,
  decideClaim,
  decideLock,
  decideRefund,
  identifyLock,
  type AssetTotals,
  type ClaimRefusal,
  type Decision,
  type Htlc,
  type LockRefusal,
  type LockRequest,
  type RefundRefusal,
} from "./core.js";

export type Outcome<R extends string> = { ok: true; htlc: Htlc; duplicate: boolean } | { ok: false; reason: R; detail: string };

export interface HtlcLedger {
  /** Add units of an asset to an account (the ledger's funding; the only way supply grows). */
  mint(asset: string, owner: string, qty: number): Promise<void>;
  /** Lock under htlcId(terms) (or the id an in-process caller gave, core.ts LockRequest); the outcome's htlc carries the id. */
  lock(req: LockRequest, nowMs: number): Promise<Outcome<LockRefusal>>;
  claim(id: string, preimageHex: string, caller: string, nowMs: number): Promise<Outcome<ClaimRefusal>>;
  refund(id: string, caller: string, nowMs: number): Promise<Outcome<RefundRefusal>>;
  get(id: string): Promise<Htlc | null>;
  balance(asset: string, owner: string): Promise<number>;
  totals(asset: string): Promise<AssetTotals>;
  close(): Promise<void>;
}

export function outcomeOf<R extends string>(d: Decision<R>): Outcome<R> {
  return d.kind === "refuse" ? { ok: false, reason: d.reason, detail: d.detail } : { ok: true, htlc: d.htlc, duplicate: d.kind === "duplicate" };
}

interface Snapshot {
  balances: [string, number][];
  supply: [string, number][];
  locks: Htlc[];
}

const key = (asset: string, owner: string) => `${asset}\u0000${owner}`;

export class MemoryHtlcLedger implements HtlcLedger {
  private readonly balances = new Map<string, number>();
  private readonly supply = new Map<string, number>();
  private readonly locks = new Map<string, Htlc>();

  /** A ledger rebuilt from a snapshot (a restart from the durable copy). */
  static restore(s: Snapshot): MemoryHtlcLedger {
    const l = new MemoryHtlcLedger();
    for (const [k, v] of s.balances) l.balances.set(k, v);
    for (const [k, v] of s.supply) l.supply.set(k, v);
    for (const h of s.locks) l.locks.set(h.id, { ...h });
    return l;
  }

  snapshot(): Snapshot {
    return { balances: [...this.balances], supply: [...this.supply], locks: [...this.locks.values()].map((h) => ({ ...h })) };
  }

  private add(asset: string, owner: string, qty: number): void {
    this.balances.set(key(asset, owner), (this.balances.get(key(asset, owner)) ?? 0) + qty);
  }

  async mint(asset: string, owner: string, qty: number): Promise<void> {
    checkMintQty(qty);
    checkSupply(asset, BigInt(this.supply.get(asset) ?? 0) + BigInt(qty));
    this.add(asset, owner, qty);
    this.supply.set(asset, (this.supply.get(asset) ?? 0) + qty);
  }

  async lock(input: LockRequest, nowMs: number): Promise<Outcome<LockRefusal>> {
    const p = identifyLock(input);
    if (p.kind === "refuse") return outcomeOf(p);
    const req = p.req;
    // Read, decide and apply with no await between: a lock that awaited its balance read decided on a stale
    // one, so locks issued together spent the same units (and one id locked twice).
    const d = decideLock(this.locks.get(req.id), req, this.available(req.asset, req.owner), nowMs);
    if (d.kind === "apply") {
      this.add(req.asset, req.owner, -req.qty);
      this.locks.set(req.id, d.htlc);
    }
    return outcomeOf(d);
  }

  private settle<R extends string>(d: Decision<R>): Outcome<R> {
    if (d.kind === "apply") {
      this.locks.set(d.htlc.id, d.htlc);
      this.add(d.htlc.asset, beneficiary(d.htlc)!, d.htlc.qty);
    }
    return outcomeOf(d);
  }

  async claim(id: string, preimageHex: string, caller: string, nowMs: number): Promise<Outcome<ClaimRefusal>> {
    return this.settle(decideClaim(this.locks.get(id), preimageHex, caller, nowMs));
  }

  async refund(id: string, caller: string, nowMs: number): Promise<Outcome<RefundRefusal>> {
    return this.settle(decideRefund(this.locks.get(id), caller, nowMs));
  }

  async get(id: string): Promise<Htlc | null> {
    const h = this.locks.get(id);
    return h ? { ...h } : null;
  }

  private available(asset: string, owner: string): number {
    return this.balances.get(key(asset, owner)) ?? 0;
  }

  async balance(asset: string, owner: string): Promise<number> {
    return this.available(asset, owner);
  }

  async totals(asset: string): Promise<AssetTotals> {
    let available = 0;
    for (const [k, v] of this.balances) if (k.startsWith(`${asset}\u0000`)) available += v;
    let locked = 0;
    for (const h of this.locks.values()) if (h.asset === asset && h.status === "locked") locked += h.qty;
    return { asset, supply: this.supply.get(asset) ?? 0, available, locked };
  }

  async close(): Promise<void> {}
}
