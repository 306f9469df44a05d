/**
 * Delegation of sub-quotas: an authority over a node carves part of that node's hard quota out for a
 * new child (a team's application, a user), naming who administers the child. The carved amounts are
 * committed: Σ of a node's live delegations never exceeds its own hard limit, so a delegator cannot
 * hand out more than it holds. A delegate may re-delegate from its sub-quota. Revoking a delegation
 * closes the child (no further reservations), revokes everything re-delegated below it, returns the
 * carved amounts to the delegator's pool and reclaims the usage: what the child's subtree held stops
 * counting against the delegator and every node above it.
 */
import { QuotaError, type Amounts, type QuotaTree } from "./tree.js";

export interface Delegation {
  id: string;
  from: string;
  to: string;
  kind: "application" | "user";
  owners: string[];
  amounts: Amounts;
  by: string;
  revoked: boolean;
  /** Usage given back when this delegation was revoked (its subtree's, at that moment). */
  reclaimed?: Amounts;
}

export class Delegations {
  private readonly all: Delegation[] = [];

  constructor(private readonly tree: QuotaTree) {}

  /** Σ delegated out of `node` by live delegations, per dimension. */
  committed(node: string): Amounts {
    const out: Amounts = {};
    for (const d of this.all) if (d.from === node && !d.revoked) for (const [k, v] of Object.entries(d.amounts)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  delegate(o: { from: string; to: string; kind: "application" | "user"; amounts: Amounts; by: string; owners: string[] }): Delegation {
    if (!this.tree.isAuthority(o.by, o.from)) throw new QuotaError(`${o.by} has no delegation authority over ${o.from}`, "forbidden");
    if (this.tree.isClosed(o.from)) throw new QuotaError(`${o.from} has been revoked; it cannot delegate`, "conflict");
    const committed = this.committed(o.from);
    for (const [d, v] of Object.entries(o.amounts)) {
      const own = this.tree.ownHard(o.from, d);
      if (own === undefined) throw new QuotaError(`${o.from} has no own ${d} quota to delegate from`);
      if ((committed[d] ?? 0) + v > own) throw new QuotaError(`${o.from} cannot delegate ${v} ${d}: ${committed[d] ?? 0} of its ${own} is already delegated`, "conflict");
    }
    this.tree.addNode({ id: o.to, kind: o.kind, parent: o.from, hard: o.amounts, owners: o.owners });
    const d: Delegation = { id: `dlg-${this.all.length + 1}`, from: o.from, to: o.to, kind: o.kind, owners: [...o.owners], amounts: { ...o.amounts }, by: o.by, revoked: false };
    this.all.push(d);
    return d;
  }

  /** Revoke a delegation (by an authority over the delegator's node); cascades to re-delegations. */
  revoke(id: string, by: string): Delegation[] {
    const d = this.all.find((x) => x.id === id);
    if (!d) throw new QuotaError(`no delegation "${id}"`, "not-found");
    if (d.revoked) throw new QuotaError(`delegation ${id} is already revoked`, "conflict");
    if (!this.tree.isAuthority(by, d.from)) throw new QuotaError(`${by} has no authority over ${d.from}; cannot revoke ${id}`, "forbidden");
    const revoked: Delegation[] = [];
    const cascade = (x: Delegation) => {
      x.revoked = true;
      this.tree.close(x.to);
      revoked.push(x);
      for (const below of this.all) if (below.from === x.to && !below.revoked) cascade(below);
    };
    cascade(d);
    d.reclaimed = this.tree.reclaim(d.to);
    return revoked;
  }

  /** Restore persisted delegations (start-up only, in id order): re-create their nodes, closed when revoked. */
  load(records: readonly Delegation[]): void {
    for (const d of records) {
      this.tree.addNode({ id: d.to, kind: d.kind, parent: d.from, hard: d.amounts, owners: d.owners });
      if (d.revoked) this.tree.close(d.to);
      this.all.push({ ...d, amounts: { ...d.amounts }, owners: [...d.owners] });
    }
  }

  list(): Delegation[] {
    return this.all.map((d) => ({ ...d, amounts: { ...d.amounts } }));
  }
}
