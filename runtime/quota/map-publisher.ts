/**
 * Publishes the tenants' quota state to the verifiable map (runtime/vmap), whose every root is recorded in the
 * proof log, so a tenant can prove its usage and limits (inclusion) against a logged root instead of trusting the
 * quota service's word. One map entry per node: key `quotaMapKey(id)`, value `quotaMapValue` (canonical JSON).
 *
 * Never on the decision path: a committed mutation only marks the state dirty. One flush at a time reads the
 * committed state (the caller's `view` runs between mutations), writes the entries that changed since the last
 * batch the map acknowledged (up to 1,000 per batch; changes made while a batch is in flight coalesce into the next),
 * and on a map outage — refused, down or hung past `timeoutMs` — keeps them and retries with capped backoff. A quota
 * decision neither waits for the map nor fails with it; the map lags instead, and catches up to the latest state
 * (intermediate states are not all published: the map proves the state as of its root, not every step).
 */
import type { Registry } from "prom-client";
import { mapKeyOf, MapPublisher, type MapPublisherOptions } from "../vmap/index.js";
import type { QuotaTree } from "./tree.js";

export { fetchWithTimeout, withBearerFile } from "../vmap/index.js";

/**
 * A node's map key: its id when that is a valid map key (1..32 bytes of UTF-8, no NUL) not starting with `~`, else
 * `~` and the first 31 hex digits of its id's SHA-256 (delegated nodes may have ids up to 200 characters). An id
 * starting with `~` is hashed too, so no one can name a delegation after another node's hashed key.
 */
export function quotaMapKey(id: string): string {
  return mapKeyOf(id);
}

const sorted = (a: Record<string, number>) => Object.fromEntries(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

/** What a tenant would want proven about a node: its usage, its effective hard limit per dimension (absent: none), closed. */
function quotaMapValue(tree: QuotaTree, id: string): string {
  const hard: Record<string, number> = {};
  for (const d of tree.dimensions) {
    const h = tree.effectiveHard(id, d);
    if (Number.isFinite(h)) hard[d] = h;
  }
  const chain = tree.chain(id);
  return JSON.stringify({ v: "meridian-quota/1", node: id, kind: tree.kindOf(id), parent: chain[1] ?? null, usage: sorted(tree.usage(id)), hard: sorted(hard), closed: tree.isClosed(id) });
}

/** Every node's map entry (key → value). */
export function quotaMapEntries(tree: QuotaTree): Map<string, string> {
  return new Map(Object.keys(tree.allUsage()).map((id) => [quotaMapKey(id), quotaMapValue(tree, id)]));
}

/** The shared publisher (runtime/vmap/publisher.ts) with quota's metric names. */
export class QuotaMapPublisher extends MapPublisher {
  constructor(o: Omit<MapPublisherOptions, "metrics" | "prefix"> & { metrics?: Registry }) {
    super({ ...o, metrics: o.metrics && { registry: o.metrics, name: "meridian_quota_map", what: "quota state" } });
  }
}
