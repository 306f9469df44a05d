/**
 * Descriptor matching with envoyproxy/ratelimit's rules: walk the domain's tree entry by entry, taking
 * the child with the exact `key`/`value`, else a `value` ending in `*` that prefixes the value, else
 * the child with the key alone (each distinct value then gets its own bucket). A limit applies only
 * when the walk matches every entry and the last node has one. Extension: under `hierarchical`, every
 * matched ancestor's limit applies too, as further levels of one atomic decision.
 */
import type { Level } from "../core/hierarchy.js";
import type { Limit } from "../core/limit.js";
import { UNIT_MS, type DescriptorConfig, type DomainConfig, type Unit } from "./schema.js";

export interface Entry {
  key: string;
  value: string;
}

export interface LimitOverride {
  requestsPerUnit: number;
  unit: Unit;
}

export interface MatchedLimit {
  /** The level key (domain and the matched path with the request's values). */
  key: string;
  limit: Limit;
  requestsPerUnit: number;
  unit: Unit;
  name: string | undefined;
  shadow: boolean;
  /** Enforced through leases from the global allocator rather than the store. */
  global: boolean;
}

export interface Match {
  /** No limit applies (no match, partial match, or `unlimited`). */
  none: boolean;
  unlimited: boolean;
  /** Leaf first, root last: the order the store's hash tag expects. */
  levels: MatchedLimit[];
}

export function toLimit(rl: NonNullable<DescriptorConfig["rate_limit"]>): Limit {
  return {
    algorithm: rl.algorithm ?? "fixed-window",
    limit: rl.requests_per_unit,
    periodMs: UNIT_MS[rl.unit] * (rl.unit_multiplier ?? 1),
    ...(rl.burst !== undefined ? { burst: rl.burst } : {}),
    ...(rl.debt !== undefined ? { debt: rl.debt } : {}),
  };
}

function child(nodes: DescriptorConfig[] | undefined, e: Entry): DescriptorConfig | undefined {
  if (!nodes) return undefined;
  return (
    nodes.find((n) => n.key === e.key && n.value === e.value) ??
    nodes.find((n) => n.key === e.key && n.value?.endsWith("*") && e.value.startsWith(n.value.slice(0, -1))) ??
    nodes.find((n) => n.key === e.key && n.value === undefined)
  );
}

export function matchDescriptor(domain: DomainConfig, entries: readonly Entry[], override?: LimitOverride): Match {
  let nodes: DescriptorConfig[] | undefined = domain.descriptors;
  let hierarchical = domain.hierarchical ?? false;
  let path = domain.domain;
  const ancestors: MatchedLimit[] = [];
  let leaf: DescriptorConfig | undefined;
  for (const [i, e] of entries.entries()) {
    const node = child(nodes, e);
    if (!node) return { none: true, unlimited: false, levels: [] };
    hierarchical = node.hierarchical ?? hierarchical;
    path += `|${e.key}=${e.value}`;
    const last = i === entries.length - 1;
    if (last) leaf = node;
    else if (node.rate_limit) ancestors.push(matched(path, node));
    nodes = node.descriptors;
  }
  if (!leaf) return { none: true, unlimited: false, levels: [] };
  if (leaf.unlimited) return { none: false, unlimited: true, levels: [] };
  const levels: MatchedLimit[] = [];
  if (override) {
    const rl = { unit: override.unit, requests_per_unit: override.requestsPerUnit, algorithm: leaf.rate_limit?.algorithm };
    levels.push({ ...matched(`${path}|override=${override.requestsPerUnit}/${override.unit}`, { ...leaf, rate_limit: rl }) });
  } else if (leaf.rate_limit) levels.push(matched(path, leaf));
  if (hierarchical) levels.push(...ancestors.reverse());
  return { none: levels.length === 0, unlimited: false, levels };
}

function matched(key: string, node: DescriptorConfig): MatchedLimit {
  const rl = node.rate_limit!;
  return { key, limit: toLimit(rl), requestsPerUnit: rl.requests_per_unit, unit: rl.unit, name: rl.name, shadow: node.shadow_mode ?? false, global: rl.global ?? false };
}

export const asLevel = (m: MatchedLimit): Level => ({ key: m.key, limit: m.limit });
