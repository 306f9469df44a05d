/**
 * The quota service's mutable state, apart from the configured tree: every node's usage, the override
 * book and the delegations (whose nodes and closures follow from them). `snapshot` reads it, `openDomain`
 * rebuilds a tree from the config plus a snapshot, and `diffState` names the rows an operation changed,
 * so the store writes only those — in the same transaction as the audit append.
 */
import type { Clock } from "../common/clock.js";
import { buildQuotaTree, type QuotaConfig } from "./config.js";
import { Delegations, type Delegation } from "./delegation.js";
import type { Override } from "./overrides.js";
import type { Amounts, QuotaTree } from "./tree.js";

export interface QuotaState {
  usage: Record<string, Amounts>;
  overrides: Override[];
  delegations: Delegation[];
}

export interface QuotaDomain {
  tree: QuotaTree;
  delegations: Delegations;
}

export function openDomain(config: Pick<QuotaConfig, "dimensions" | "emergency_grace_ms" | "authorities" | "tenants">, clock: Clock, state: QuotaState): QuotaDomain {
  const tree = buildQuotaTree(config, clock);
  const delegations = new Delegations(tree);
  delegations.load(state.delegations);
  tree.overrides.load(state.overrides);
  for (const [node, usage] of Object.entries(state.usage)) if (tree.has(node)) tree.setUsage(node, usage);
  return { tree, delegations };
}

export function snapshot(d: QuotaDomain): QuotaState {
  return {
    usage: d.tree.allUsage(),
    overrides: d.tree.overrides.list().map(({ state: _state, ...o }) => o),
    delegations: d.delegations.list(),
  };
}

export interface StateChanges {
  /** [node, dimension, amount] rows whose amount changed (0 when a dimension was cleared). */
  usage: [string, string, number][];
  overrides: Override[];
  delegations: Delegation[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function diffState(before: QuotaState, after: QuotaState): StateChanges {
  const usage: [string, string, number][] = [];
  for (const [node, now] of Object.entries(after.usage)) {
    const was = before.usage[node] ?? {};
    for (const d of new Set([...Object.keys(was), ...Object.keys(now)])) if ((now[d] ?? 0) !== (was[d] ?? 0)) usage.push([node, d, now[d] ?? 0]);
  }
  const changed = <T extends { id: string }>(xs: T[], ys: T[]) =>
    ys.filter(
      (y) =>
        !same(
          xs.find((x) => x.id === y.id),
          y,
        ),
    );
  return { usage, overrides: changed(before.overrides, after.overrides), delegations: changed(before.delegations, after.delegations) };
}

export const isEmpty = (c: StateChanges) => c.usage.length + c.overrides.length + c.delegations.length === 0;
