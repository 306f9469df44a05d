/**
 * Multi-dimensional quotas (cpu, memory, storage, bandwidth, …) over the user → application → tenant
 * hierarchy. Each node may set hard and soft limits per dimension; usage aggregates up the tree.
 * Inheritance: a node without its own limit is bounded by its nearest ancestor's; a child may not get
 * more than an ancestor has (conflicts are reported, and the stricter limit wins because every
 * ancestor is checked). `reserve` is atomic: it checks the node and every ancestor and charges all of
 * them or none. Soft limits admit with a warning (like memory soft limits); hard limits reject.
 * Active overrides (overrides.ts) replace a node's own hard limit until they expire.
 * Authority: a node's owners administer it and everything below; `authorities` sit above every tenant.
 * Raising a node's limit needs someone *above* it (`isAbove`), so no owner approves its own increase.
 */
import type { Clock } from "../common/clock.js";
import { QuotaError } from "./errors.js";
import { OverrideBook } from "./overrides.js";

const KINDS = ["tenant", "application", "user"] as const;
export type Kind = (typeof KINDS)[number];
export type Amounts = Record<string, number>;

export interface NodeSpec {
  id: string;
  kind: Kind;
  parent?: string;
  hard?: Amounts;
  soft?: Amounts;
  /** Principals who administer this node (and, through it, everything below). */
  owners?: string[];
}

interface QuotaNode extends Required<Omit<NodeSpec, "parent">> {
  parent: string | undefined;
  usage: Amounts;
  closed: boolean;
}

export interface Violation {
  node: string;
  dimension: string;
  usage: number;
  requested: number;
  limit: number;
}

export interface ReserveResult {
  ok: boolean;
  violations: Violation[];
  /** Soft limits the reservation went over (admitted anyway). */
  warnings: Violation[];
}

export { QuotaError, type ErrorKind } from "./errors.js";

export class QuotaTree {
  private readonly nodes = new Map<string, QuotaNode>();
  readonly overrides: OverrideBook;

  constructor(
    readonly dimensions: readonly string[],
    clock: Clock,
    emergencyGraceMs?: number,
    /** Principals above every tenant (the estate's quota administrators). */
    readonly authorities: readonly string[] = [],
  ) {
    this.overrides = new OverrideBook(clock, this, emergencyGraceMs);
  }

  addNode(spec: NodeSpec): void {
    if (this.nodes.has(spec.id)) throw new QuotaError(`node "${spec.id}" already exists`, "conflict");
    const parent = spec.parent === undefined ? undefined : this.node(spec.parent);
    const depth = KINDS.indexOf(spec.kind);
    if (depth === -1) throw new QuotaError(`node ${spec.id}: kind is "${spec.kind}"; expected ${KINDS.join(", ")}`);
    if (parent ? KINDS.indexOf(parent.kind) >= depth : spec.kind !== "tenant")
      throw new QuotaError(`node ${spec.id}: a ${spec.kind} cannot sit under ${parent ? `a ${parent.kind}` : "nothing"} (user → application → tenant)`);
    for (const [what, a] of [
      ["hard", spec.hard],
      ["soft", spec.soft],
    ] as const)
      for (const [d, v] of Object.entries(a ?? {})) {
        if (!this.dimensions.includes(d)) throw new QuotaError(`node ${spec.id}: ${what}.${d} is not a dimension (${this.dimensions.join(", ")})`);
        if (!(v >= 0) || !Number.isFinite(v)) throw new QuotaError(`node ${spec.id}: ${what}.${d} is ${v}; expected a finite number ≥ 0`);
      }
    this.nodes.set(spec.id, { id: spec.id, kind: spec.kind, parent: spec.parent, hard: { ...spec.hard }, soft: { ...spec.soft }, owners: [...(spec.owners ?? [])], usage: {}, closed: false });
  }

  private node(id: string): QuotaNode {
    const n = this.nodes.get(id);
    if (!n) throw new QuotaError(`no quota node "${id}"`, "not-found");
    return n;
  }

  /** The node and its ancestors, nearest first. */
  chain(id: string): string[] {
    const out: string[] = [];
    for (let n: QuotaNode | undefined = this.node(id); n; n = n.parent === undefined ? undefined : this.node(n.parent)) out.push(n.id);
    return out;
  }

  /** Administers the node: an owner of it or of an ancestor, or a root authority. */
  isAuthority(principal: string, node: string): boolean {
    return this.authorities.includes(principal) || this.chain(node).some((id) => this.node(id).owners.includes(principal));
  }

  /** Sits above the node: an owner of a strict ancestor, or a root authority (never the node's own owners). */
  isAbove(principal: string, node: string): boolean {
    return (
      this.authorities.includes(principal) ||
      this.chain(node)
        .slice(1)
        .some((id) => this.node(id).owners.includes(principal))
    );
  }

  /** The node's own hard limit for a dimension (an active override wins), or undefined when it inherits. */
  ownHard(id: string, dimension: string): number | undefined {
    return this.overrides.active(id, dimension)?.hard ?? this.node(id).hard[dimension];
  }

  /** What the node may use of a dimension: the tightest own limit along its chain (Infinity if none). */
  effectiveHard(id: string, dimension: string): number {
    let limit = Infinity;
    for (const n of this.chain(id)) limit = Math.min(limit, this.ownHard(n, dimension) ?? Infinity);
    return limit;
  }

  /** Nodes whose own limit exceeds what an ancestor allows (the ancestor's limit wins). */
  conflicts(): { node: string; dimension: string; own: number; capped: number }[] {
    const out = [];
    for (const n of this.nodes.values())
      for (const d of this.dimensions) {
        const own = this.ownHard(n.id, d);
        if (own === undefined || n.parent === undefined) continue;
        const capped = this.effectiveHard(n.parent, d);
        if (own > capped) out.push({ node: n.id, dimension: d, own, capped });
      }
    return out;
  }

  reserve(id: string, amounts: Amounts): ReserveResult {
    this.checkAmounts(amounts);
    const chain = this.chain(id);
    if (chain.some((c) => this.node(c).closed)) return { ok: false, violations: [{ node: id, dimension: "*", usage: 0, requested: 0, limit: 0 }], warnings: [] };
    const violations: Violation[] = [];
    const warnings: Violation[] = [];
    for (const c of chain) {
      const n = this.node(c);
      for (const [d, req] of Object.entries(amounts)) {
        const usage = n.usage[d] ?? 0;
        const hard = this.ownHard(c, d);
        if (hard !== undefined && usage + req > hard) violations.push({ node: c, dimension: d, usage, requested: req, limit: hard });
        const soft = n.soft[d];
        if (soft !== undefined && usage + req > soft) warnings.push({ node: c, dimension: d, usage, requested: req, limit: soft });
      }
    }
    if (violations.length) return { ok: false, violations, warnings: [] };
    for (const c of chain) for (const [d, req] of Object.entries(amounts)) this.charge(c, d, req);
    return { ok: true, violations, warnings };
  }

  release(id: string, amounts: Amounts): void {
    this.checkAmounts(amounts);
    const own = this.node(id).usage;
    for (const [d, v] of Object.entries(amounts)) if ((own[d] ?? 0) < v - 1e-9) throw new QuotaError(`node ${id} releases ${v} ${d} but holds ${own[d] ?? 0}`);
    for (const c of this.chain(id)) for (const [d, v] of Object.entries(amounts)) this.charge(c, d, -v);
  }

  /** Usage holds only what is in use: a dimension back at zero disappears (so a restart reads the same map). */
  private charge(id: string, dimension: string, delta: number): void {
    const usage = this.node(id).usage;
    const next = (usage[dimension] ?? 0) + delta;
    if (next <= 1e-9) delete usage[dimension];
    else usage[dimension] = next;
  }

  usage(id: string): Amounts {
    return { ...this.node(id).usage };
  }

  /** Used by delegation: set a node's own hard limits, or close it (revocation). */
  setHard(id: string, hard: Amounts): void {
    this.node(id).hard = { ...hard };
  }
  close(id: string): void {
    this.node(id).closed = true;
  }

  /**
   * Give a subtree's usage back (revocation): its ancestors stop counting what the subtree held, and the
   * subtree's own counters go to zero. Returns what was reclaimed.
   */
  reclaim(id: string): Amounts {
    const held = { ...this.node(id).usage };
    for (const a of this.chain(id).slice(1)) for (const [d, v] of Object.entries(held)) this.charge(a, d, -v);
    for (const n of this.nodes.values()) if (this.chain(n.id).includes(id)) n.usage = {};
    return held;
  }

  /** Every node's usage (for persistence). */
  allUsage(): Record<string, Amounts> {
    return Object.fromEntries([...this.nodes.values()].map((n) => [n.id, { ...n.usage }]));
  }

  /** Restore a node's usage as persisted (start-up only). */
  setUsage(id: string, usage: Amounts): void {
    this.node(id).usage = { ...usage };
  }
  isClosed(id: string): boolean {
    return this.node(id).closed;
  }
  has(id: string): boolean {
    return this.nodes.has(id);
  }
  kindOf(id: string): Kind {
    return this.node(id).kind;
  }

  private checkAmounts(amounts: Amounts): void {
    for (const [d, v] of Object.entries(amounts)) {
      if (!this.dimensions.includes(d)) throw new QuotaError(`"${d}" is not a dimension (${this.dimensions.join(", ")})`);
      if (!(v >= 0) || !Number.isFinite(v)) throw new QuotaError(`${d} is ${v}; expected a finite number ≥ 0`);
    }
  }
}
