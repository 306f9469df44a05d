/**
 * Temporary quota overrides with expiry and an approval step. A request names the node, dimension,
 * new hard limit, expiry and reason, and must come from an authority over the node; it takes effect
 * only once approved by someone *above* the node (an owner of an ancestor or a root authority) who is
 * not the requester — a node's owner never approves its own increase. An *emergency* override (also
 * only from an authority over the node) takes effect at once but lapses unless approved from above
 * within `emergencyGraceMs`. Every override ends at its expiry; nothing is ever deleted, so the book
 * is the audit trail.
 */
import type { Clock } from "../common/clock.js";
import { QuotaError } from "./errors.js";

export type OverrideState = "pending" | "active" | "rejected" | "expired" | "lapsed" | "revoked";

export interface Override {
  id: string;
  node: string;
  dimension: string;
  hard: number;
  reason: string;
  requestedBy: string;
  requestedAt: number;
  expiresAt: number;
  emergency: boolean;
  approvedBy: string | null;
  decidedAt: number | null;
  revoked: boolean;
  rejected: boolean;
}

class OverrideError extends QuotaError {
  override name = "OverrideError";
}

export class OverrideBook {
  private readonly overrides: Override[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly authority: { isAuthority(principal: string, node: string): boolean; isAbove(principal: string, node: string): boolean },
    private readonly emergencyGraceMs = 3_600_000,
  ) {}

  request(o: { node: string; dimension: string; hard: number; reason: string; requestedBy: string; expiresAt: number; emergency?: boolean }): Override {
    const now = this.clock.now();
    if (!(o.hard >= 0) || !Number.isFinite(o.hard)) throw new OverrideError(`hard is ${o.hard}; expected a finite number ≥ 0`);
    if (!(o.expiresAt > now)) throw new OverrideError(`expiresAt ${new Date(o.expiresAt).toISOString()} is not in the future`);
    if (!o.reason.trim()) throw new OverrideError("an override needs a reason");
    if (!this.authority.isAuthority(o.requestedBy, o.node))
      throw new OverrideError(`${o.requestedBy} has no authority over ${o.node}; only its owners or those above may request an override`, "forbidden");
    const rec: Override = { ...o, id: `ovr-${this.overrides.length + 1}`, emergency: o.emergency ?? false, requestedAt: now, approvedBy: null, decidedAt: null, revoked: false, rejected: false };
    this.overrides.push(rec);
    return rec;
  }

  private find(id: string): Override {
    const o = this.overrides.find((x) => x.id === id);
    if (!o) throw new OverrideError(`no override "${id}"`, "not-found");
    return o;
  }

  approve(id: string, approver: string): Override {
    const o = this.find(id);
    const state = this.state(o);
    if (state !== "pending" && !(state === "active" && o.emergency && o.approvedBy === null))
      throw new OverrideError(`override ${id} is ${state}; only pending (or unapproved emergency) overrides can be approved`, "conflict");
    if (approver === o.requestedBy) throw new OverrideError(`override ${id}: the requester ${approver} cannot approve their own override`, "forbidden");
    if (!this.authority.isAbove(approver, o.node))
      throw new OverrideError(`override ${id}: ${approver} is not above ${o.node}; only an owner of an ancestor or a root authority may approve`, "forbidden");
    o.approvedBy = approver;
    o.decidedAt = this.clock.now();
    return o;
  }

  reject(id: string, approver: string): Override {
    const o = this.find(id);
    if (this.state(o) !== "pending") throw new OverrideError(`override ${id} is ${this.state(o)}; only pending overrides can be rejected`, "conflict");
    if (!this.authority.isAbove(approver, o.node))
      throw new OverrideError(`override ${id}: ${approver} is not above ${o.node}; only an owner of an ancestor or a root authority may reject`, "forbidden");
    o.rejected = true;
    o.decidedAt = this.clock.now();
    return o;
  }

  revoke(id: string, by: string): Override {
    const o = this.find(id);
    if (!this.authority.isAuthority(by, o.node) && by !== o.requestedBy) throw new OverrideError(`override ${id}: ${by} may not revoke it`, "forbidden");
    o.revoked = true;
    return o;
  }

  state(o: Override): OverrideState {
    const now = this.clock.now();
    if (o.revoked) return "revoked";
    if (o.rejected) return "rejected";
    if (now >= o.expiresAt) return "expired";
    if (o.approvedBy !== null) return "active";
    if (o.emergency) return now < o.requestedAt + this.emergencyGraceMs ? "active" : "lapsed";
    return "pending";
  }

  /** The override in force for a node's dimension (the latest active one), if any. */
  active(node: string, dimension: string): Override | undefined {
    let found: Override | undefined;
    for (const o of this.overrides) if (o.node === node && o.dimension === dimension && this.state(o) === "active") found = o;
    return found;
  }

  /** Restore persisted overrides (start-up only), in id order. */
  load(records: readonly Override[]): void {
    this.overrides.push(...records.map((o) => ({ ...o })));
  }

  get(id: string): Override | undefined {
    return this.overrides.find((x) => x.id === id);
  }

  list(): (Override & { state: OverrideState })[] {
    return this.overrides.map((o) => ({ ...o, state: this.state(o) }));
  }
}
