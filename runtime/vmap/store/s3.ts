/**
 * S3-compatible map store: per map, `<prefix>/<map>/snapshot` (head and every value) and one object per batch,
 * `<prefix>/<map>/batch/<revision, 12 digits>` (u64 log index ‖ the canonical map entry), PUT with
 * `If-None-Match: *` so on stores with conditional writes a second writer's batch for the same revision fails
 * (HTTP 412) instead of replacing it. Restart reads the snapshot, then batches after it until the first missing
 * one; every `snapshotEvery` batches the snapshot is rewritten and the batches it covers deleted.
 *
 * One writer per bucket prefix: the store holds a lease, `<prefix>/.meridian/vmap.lock`, taken and renewed with S3
 * conditional writes (s3-lease.ts); a second writer waits `lockWaitMs`, then is refused; once the lease lapses
 * (unrenewed: S3 unreachable) or is taken over, every batch is refused before it reaches the log, and /readyz says so.
 */
import { AwsClient } from "aws4fetch";
import { decodeBatch, encodeBatch } from "./file.js";
import { MapStoreError, type LoggedBatch, type MapStore, type StoredMap } from "./port.js";
import { S3Lease } from "./s3-lease.js";

export interface S3MapStoreOptions {
  /** Endpoint, bucket and optional prefix, path-style: `https://s3.eu-west-1.amazonaws.com/my-bucket/maps`. */
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
  /** How long the writer lease lasts unrenewed (ms; default 10 s): a writer that died is taken over after it. */
  leaseMs?: number;
  /** How long to wait for another writer's lease (ms; default 30 s, enough to take over a dead writer's). */
  lockWaitMs?: number;
}

const batchPath = (map: string, revision: number) => `${map}/batch/${String(revision).padStart(12, "0")}`;

export class S3MapStore implements MapStore {
  readonly description: string;
  private readonly base: string;
  private readonly client: AwsClient;
  private readonly revisions = new Map<string, { revision: number; sinceSnapshot: number }>();
  private readonly lease: S3Lease;
  private ready: Promise<void> | null = null;

  constructor(
    o: S3MapStoreOptions,
    private readonly snapshotEvery = 1000,
  ) {
    this.base = o.url.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+\/[^/]+/.test(this.base)) throw new MapStoreError(`S3 URL "${o.url}" must be <http(s) endpoint>/<bucket>[/<prefix>]`);
    this.description = `S3 map store ${this.base}`;
    this.client = new AwsClient({ accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, sessionToken: o.sessionToken, region: o.region ?? "us-east-1", service: "s3" });
    const lock = `${this.base}/.meridian/vmap.lock`;
    this.lease = new S3Lease(
      {
        put: async (body, condition, timeoutMs) => {
          const res = await this.send("PUT", lock, { body, headers: { "content-type": "application/json", ...condition }, signal: AbortSignal.timeout(timeoutMs) });
          if (res.status === 412 || res.status === 404) {
            await res.body?.cancel();
            return null;
          }
          if (!res.ok) throw new MapStoreError(`PUT ${lock}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
          await res.body?.cancel();
          return res.headers.get("etag") ?? "";
        },
        get: async (timeoutMs) => {
          const res = await this.send("GET", lock, { signal: AbortSignal.timeout(timeoutMs) });
          if (res.status === 404) {
            await res.body?.cancel();
            return null;
          }
          if (!res.ok) throw new MapStoreError(`GET ${lock}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
          return { body: await res.text(), etag: res.headers.get("etag") ?? "" };
        },
      },
      { where: this.description, leaseMs: o.leaseMs ?? 10_000, lockWaitMs: o.lockWaitMs ?? 30_000 },
    );
  }

  private async send(method: string, url: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await this.client.fetch(url, { method, ...init });
    } catch (e) {
      throw new MapStoreError(`${method} ${url}: ${String((e as Error).cause ?? (e as Error).message)}`, { cause: e });
    }
  }

  /** Take the writer lease (once), before anything is read or written. */
  private open(): Promise<void> {
    this.ready ??= this.lease.acquire();
    return this.ready;
  }

  private async req(method: string, path: string, body?: Uint8Array | string, headers: Record<string, string> = {}): Promise<Uint8Array | null> {
    const url = `${this.base}/${path}`;
    const res = await this.send(method, url, { body: body as BodyInit | undefined, headers });
    if ((method === "GET" || method === "DELETE") && res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status === 412) throw new MapStoreError(`${this.description}: ${path} already exists (HTTP 412): another writer is recording this map`);
    if (!res.ok) throw new MapStoreError(`${method} ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async load(map: string): Promise<StoredMap | null> {
    await this.open();
    const snap = await this.req("GET", `${map}/snapshot`);
    let stored: StoredMap | null = null;
    if (snap) {
      const doc = JSON.parse(Buffer.from(snap).toString("utf8")) as { revision: number; root: string; logIndex: number | null; values: [string, string][] };
      stored = {
        head: { revision: doc.revision, root: Buffer.from(doc.root, "base64"), logIndex: doc.logIndex },
        values: doc.values.map(([k, v]) => ({ key: Buffer.from(k, "hex"), value: Buffer.from(v, "base64") })),
        batches: [],
      };
    }
    let revision = stored?.head.revision ?? 0;
    const batches: LoggedBatch[] = [];
    for (;;) {
      const b = await this.req("GET", batchPath(map, revision + 1));
      if (!b) break;
      batches.push(decodeBatch(Buffer.from(b), `${this.base}/${batchPath(map, revision + 1)}`));
      revision++;
    }
    this.revisions.set(map, { revision, sinceSnapshot: batches.length });
    if (batches.length === 0) return stored;
    return { head: stored?.head ?? { revision: 0, root: Buffer.alloc(0), logIndex: null }, values: stored?.values ?? [], batches };
  }

  async record(b: LoggedBatch, current: () => Iterable<{ key: Buffer; value: Uint8Array }>): Promise<void> {
    const m = this.revisions.get(b.entry.map);
    if (!m) throw new MapStoreError(`${this.description}: map ${b.entry.map} was not loaded`);
    if (b.entry.revision !== m.revision + 1) throw new MapStoreError(`${this.description}: map ${b.entry.map} is at revision ${m.revision}; cannot record ${b.entry.revision}`);
    const refused = this.lease.refusal();
    if (refused) throw new MapStoreError(refused);
    await this.req("PUT", batchPath(b.entry.map, b.entry.revision), encodeBatch(b), { "content-type": "application/octet-stream", "if-none-match": "*" });
    m.revision = b.entry.revision;
    if (++m.sinceSnapshot < this.snapshotEvery) return;
    const values = [...current()].map((e) => [e.key.toString("hex"), Buffer.from(e.value).toString("base64")]);
    const doc = { revision: b.entry.revision, root: Buffer.from(b.entry.root).toString("base64"), logIndex: b.logIndex, values };
    await this.req("PUT", `${b.entry.map}/snapshot`, JSON.stringify(doc), { "content-type": "application/json" });
    // The snapshot covers these batches now; a failed delete only leaves garbage that load never reads.
    for (let r = b.entry.revision; r > b.entry.revision - m.sinceSnapshot; r--) await this.req("DELETE", batchPath(b.entry.map, r)).catch(() => undefined);
    m.sinceSnapshot = 0;
  }

  refusal(): string | null {
    return this.lease.refusal();
  }

  /** For /readyz: true while the writer lease is held. */
  async ping(): Promise<true | string> {
    return this.lease.refusal() ?? true;
  }

  async close(): Promise<void> {
    await this.ready?.catch(() => undefined);
    await this.lease.release();
  }
}
