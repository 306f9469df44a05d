/**
 * Publishes a service's state to the verifiable map (runtime/vmap), whose every root is recorded in the proof log,
 * so a reader can prove a value (inclusion) against a logged root instead of trusting the service's word. Used by
 * quota (runtime/quota/map-publisher.ts) and escrow (runtime/escrow/map-publisher.ts).
 *
 * Never on the caller's decision path: a committed change only marks the state dirty (`poke`). One flush at a time
 * reads the committed state (`view`), writes the entries that changed since the last batch the map acknowledged
 * (up to 1,000 per batch; changes made while a batch is in flight coalesce into the next), and on a map outage —
 * refused, down or hung past the client's timeout — keeps them and retries with capped backoff. The publisher owns
 * the keys under `prefix` only (a map may have several writers, each with its own prefix): keys there that the view
 * no longer has are deleted. The map lags instead of the service failing, and catches up to the latest state
 * (intermediate states are not all published: the map proves the state as of its root, not every step).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Counter, Gauge, type Registry } from "prom-client";
import type { MapClient } from "./client.js";

const MAX_BATCH = 1000;
const MAX_KEY_BYTES = 32;

/**
 * A map key for `id` under `prefix`: `prefix + id` when that is a valid map key (1..32 bytes of UTF-8, no NUL) and
 * `id` does not start with `~`, else `prefix`, `~` and hex digits of the id's SHA-256 filling the 32 bytes (ids may
 * be longer than a key). An id starting with `~` is hashed too, so no one can name an id after another's hashed key.
 */
export function mapKeyOf(id: string, prefix = ""): string {
  const room = MAX_KEY_BYTES - Buffer.byteLength(prefix, "utf8");
  if (room < 9) throw new Error(`map key prefix ${prefix} leaves no room for a key (keys are at most ${MAX_KEY_BYTES} bytes)`);
  const b = Buffer.from(id, "utf8");
  if (b.length > 0 && b.length <= room && !b.includes(0) && !id.startsWith("~")) return prefix + id;
  return `${prefix}~${createHash("sha256")
    .update(b)
    .digest("hex")
    .slice(0, room - 1)}`;
}

export interface MapPublisherOptions {
  client: MapClient;
  map: string;
  /** The keys this publisher owns (default: the whole map). */
  prefix?: string;
  /** The committed state's entries (all under `prefix`). */
  view: () => Promise<Map<string, string>>;
  onError: (err: Error) => void;
  /** Its metrics: `<name>_behind`, `<name>_failures_total`, `<name>_batches_total`; `what` says whose state. */
  metrics?: { registry: Registry; name: string; what: string };
  retryMs?: { min: number; max: number };
}

export class MapPublisher {
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

  constructor(private readonly o: MapPublisherOptions) {
    this.retry = o.retryMs ?? { min: 200, max: 10_000 };
    if (o.metrics) {
      const { registry, name, what } = o.metrics;
      const registers = [registry];
      this.pending = new Gauge({ name: `${name}_behind`, help: `1 while ${what} changes are not yet acknowledged by the verifiable map`, registers });
      this.failures = new Counter({ name: `${name}_failures_total`, help: `Failed attempts to publish ${what} to the verifiable map`, registers });
      this.batches = new Counter({ name: `${name}_batches_total`, help: `${what[0]!.toUpperCase()}${what.slice(1)} batches the verifiable map acknowledged`, registers });
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
    this.published ??= new Map((await this.o.client.readPrefix(this.o.map, this.o.prefix ?? "")).entries.map(([k, v]) => [k, v.toString("utf8")]));
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
