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
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Counter, Gauge, type Registry } from "prom-client";
import type { MapClient } from "../vmap/index.js";
import type { QuotaTree } from "./tree.js";

const MAX_BATCH = 1000;
const MAX_KEY_BYTES = 32;

/**
 * A node's map key: its id when that is a valid map key (1..32 bytes of UTF-8, no NUL) not starting with `~`, else
 * `~` and the first 31 hex digits of its id's SHA-256 (delegated nodes may have ids up to 200 characters). An id
 * starting with `~` is hashed too, so no one can name a delegation after another node's hashed key.
 */
export function quotaMapKey(id: string): string {
  const b = Buffer.from(id, "utf8");
  if (b.length > 0 && b.length <= MAX_KEY_BYTES && !b.includes(0) && !id.startsWith("~")) return id;
  return `~${createHash("sha256")
    .update(b)
    .digest("hex")
    .slice(0, MAX_KEY_BYTES - 1)}`;
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

export interface QuotaMapPublisherOptions {
  client: MapClient;
  map: string;
  /** The committed state's entries, read between mutations. */
  view: () => Promise<Map<string, string>>;
  onError: (err: Error) => void;
  metrics?: Registry;
  retryMs?: { min: number; max: number };
}

export class QuotaMapPublisher {
  /** Entries as the map holds them (null: not yet read from the map). */
  private published: Map<string, string> | null = null;
  private dirty = false;
  private running: Promise<void> | null = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private readonly retry: { min: number; max: number };
  private readonly pending?: Gauge;
  private readonly failures?: Counter;
  private readonly batches?: Counter;
  /** The last batch the map acknowledged. */
  last: { revision: number; root: string; logIndex: number | null } | null = null;

  constructor(private readonly o: QuotaMapPublisherOptions) {
    this.retry = o.retryMs ?? { min: 200, max: 10_000 };
    if (o.metrics) {
      const registers = [o.metrics];
      this.pending = new Gauge({ name: "meridian_quota_map_behind", help: "1 while quota state changes are not yet acknowledged by the verifiable map", registers });
      this.failures = new Counter({ name: "meridian_quota_map_failures_total", help: "Failed attempts to publish quota state to the verifiable map", registers });
      this.batches = new Counter({ name: "meridian_quota_map_batches_total", help: "Quota state batches the verifiable map acknowledged", registers });
    }
  }

  /** The state changed (or may have, e.g. an override expired): publish it soon. Returns at once. */
  poke(): void {
    if (this.closed) return;
    this.dirty = true;
    this.pending?.set(1);
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  /** Resolves once nothing is pending (or the publisher is closed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    let backoff = this.retry.min;
    while (this.dirty && !this.closed) {
      this.dirty = false;
      try {
        await this.flush();
        backoff = this.retry.min;
      } catch (e) {
        this.dirty = true;
        this.failures?.inc();
        this.o.onError(e as Error);
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.wake = () => (clearTimeout(t), r());
        });
        this.wake = null;
        backoff = Math.min(backoff * 2, this.retry.max);
      }
    }
    if (!this.dirty) this.pending?.set(0);
  }

  private async flush(): Promise<void> {
    // After a start (or a failed batch) the map's contents are read back, proven complete, so only real changes are written.
    this.published ??= new Map((await this.o.client.readPrefix(this.o.map, "")).entries.map(([k, v]) => [k, v.toString("utf8")]));
    const view = await this.o.view();
    const writes: [string, string | null][] = [];
    for (const [k, v] of view) if (this.published.get(k) !== v) writes.push([k, v]);
    for (const k of this.published.keys()) if (!view.has(k)) writes.push([k, null]);
    for (let i = 0; i < writes.length; i += MAX_BATCH) {
      const batch = writes.slice(i, i + MAX_BATCH);
      try {
        this.last = await this.o.client.write(
          this.o.map,
          batch.map(([k, v]) => [k, v === null ? null : Buffer.from(v, "utf8")]),
        );
      } catch (e) {
        // A write that timed out may still have been applied: read the map again before the next attempt.
        this.published = null;
        throw e;
      }
      for (const [k, v] of batch)
        if (v === null) this.published.delete(k);
        else this.published.set(k, v);
      this.batches?.inc();
    }
  }

  /** Stop: no new flush starts; one in flight is awaited (bounded by the client's timeout). */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.idle();
  }
}

/** A fetch that gives up after `ms`, so a hung map costs a retry, not a stuck publisher. */
export function fetchWithTimeout(ms: number): typeof fetch {
  return (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(ms) });
}

/** A fetch that sends `authorization: Bearer <the file's content>`, read at each call (a rotated token is picked up); none without a file. */
export function withBearerFile(f: typeof fetch, file: string | undefined): typeof fetch {
  if (file === undefined) return f;
  return async (input, init) => {
    const token = (await readFile(file, "utf8")).trim();
    return f(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } });
  };
}
