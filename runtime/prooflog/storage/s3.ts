/**
 * S3-compatible object store (AWS S3, R2, GCS's XML API, MinIO…), requests signed with SigV4 (aws4fetch). The
 * bucket under `prefix` is the static C2SP tlog-tiles tree — `checkpoint`, `tile/…` (entry bundles stored gzip
 * with `Content-Encoding: gzip`) — servable straight from the bucket or a CDN in front of it; the tree state is
 * the private object `.meridian/state` (deny it in the bucket policy if the bucket is public), and the duplicate
 * index one private object per entry, `.meridian/antispam/<leaf hash hex>` holding its index.
 *
 * A commit PUTs the tiles and bundles it completed and the batch's antispam objects, then the state — the commit point; an acknowledged batch is
 * durable once the state PUT returns. The state PUT is conditional (If-Match on the ETag we last wrote, or
 * If-None-Match: * for a new log), so on stores that implement conditional writes a second writer is fenced out
 * (HTTP 412 → WriterLockError) instead of interleaving.
 */
import { AwsClient } from "aws4fetch";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { hashesAtLevel } from "../integrate.js";
import { type Hash, HASH_SIZE } from "../rfc6962.js";
import { encodeEntryBundle, tilePath, TILE_WIDTH } from "../tiles.js";
import { gunzipIfNeeded } from "./file.js";
import { WriterLockError } from "./postgres.js";
import { decodeState, encodeState } from "./state.js";
import { leafList, type Commit, type Publication, type Recovered, type TileStore } from "./store.js";

const gz = promisify(gzip);
const STATE = ".meridian/state";
/** `<minimum index> <swept to>`: recorded before a prune deletes anything, and again once its sweep is done. */
const PRUNED = ".meridian/pruned";
const antispamPath = (h: Hash) => `.meridian/antispam/${Buffer.from(h).toString("hex")}`;
const IMMUTABLE = "public, max-age=31536000, immutable";

export interface S3StoreOptions {
  /** Endpoint, bucket and optional prefix, path-style: `https://s3.eu-west-1.amazonaws.com/my-bucket/logs/prod`. */
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
}

export class S3StoreError extends Error {
  override name = "S3StoreError";
}

export class S3Store implements TileStore {
  readonly description: string;
  private readonly base: string;
  private readonly client: AwsClient;
  private etag: string | null = null;
  private size = 0;

  constructor(o: S3StoreOptions) {
    this.base = o.url.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+\/[^/]+/.test(this.base)) throw new S3StoreError(`S3 URL "${o.url}" must be <http(s) endpoint>/<bucket>[/<prefix>]`);
    this.description = `S3 store ${this.base}`;
    this.client = new AwsClient({ accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, sessionToken: o.sessionToken, region: o.region ?? "us-east-1", service: "s3" });
  }

  private async req(method: string, path: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = `${this.base}/${path}`;
    let res: Response;
    try {
      res = await this.client.fetch(url, { method, body: init.body as BodyInit | undefined, headers: init.headers });
    } catch (e) {
      throw new S3StoreError(`${method} ${url}: ${String((e as Error).cause ?? (e as Error).message)}`, { cause: e });
    }
    if (res.status === 412) throw new WriterLockError(`${this.description}: ${path} changed under us (HTTP 412): another writer is sequencing this log`);
    if (!res.ok && !(method === "GET" && res.status === 404)) throw new S3StoreError(`${method} ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res;
  }

  private async getObject(path: string): Promise<{ data: Uint8Array; etag: string | null } | null> {
    const res = await this.req("GET", path);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    return { data: new Uint8Array(await res.arrayBuffer()), etag: res.headers.get("etag") };
  }

  private put(path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Response> {
    return this.req("PUT", path, { body, headers });
  }

  async open(): Promise<Recovered> {
    const st = await this.getObject(STATE);
    const state = st ? decodeState(st.data, `${this.base}/${STATE}`) : null;
    this.etag = st?.etag ?? null;
    this.size = state?.size ?? 0;
    const cp = await this.getObject("checkpoint");
    return { state, pending: [], checkpoint: cp ? Buffer.from(cp.data).toString("utf8") : null, pruned: (await this.readPruned()).target };
  }

  private async readPruned(): Promise<{ target: number; done: number }> {
    const o = await this.getObject(PRUNED);
    if (!o) return { target: 0, done: 0 };
    const m = /^([0-9]{1,16}) ([0-9]{1,16})\n$/.exec(Buffer.from(o.data).toString("utf8"));
    if (!m) throw new S3StoreError(`${this.base}/${PRUNED} is not "<minimum index> <pruned up to>"`);
    return { target: Number(m[1]), done: Number(m[2]) };
  }

  private writePruned(target: number, done: number): Promise<Response> {
    return this.put(PRUNED, `${target} ${done}\n`, { "content-type": "text/plain", "cache-control": "no-store" });
  }

  /**
   * Record the minimum, DELETE the full bundles ending at or below it, record the sweep done. S3 answers a DELETE
   * alike whether or not the object existed, so this resolves to the number of bundles swept. Partial bundles
   * left beside them are not listed and stay (a few bytes each).
   */
  async prune(minIndex: number): Promise<number> {
    const was = await this.readPruned();
    const target = Math.max(was.target, minIndex);
    const from = Math.floor(was.done / TILE_WIDTH);
    const end = Math.floor(target / TILE_WIDTH);
    await this.writePruned(target, was.done);
    for (let n = from; n < end; n += 64) {
      await Promise.all(Array.from({ length: Math.min(64, end - n) }, (_, k) => this.req("DELETE", tilePath({ level: "entries", index: n + k, width: TILE_WIDTH }))));
    }
    await this.writePruned(target, Math.max(was.done, end * TILE_WIDTH));
    return Math.max(0, end - from);
  }

  async commit(c: Commit): Promise<void> {
    if (c.firstIndex !== this.size) throw new Error(`commit at ${c.firstIndex} but the store holds ${this.size} entries`);
    const octet = { "content-type": "application/octet-stream", "cache-control": IMMUTABLE };
    await Promise.all([
      ...c.tiles.map((t) => this.put(tilePath({ level: t.level, index: t.index, width: TILE_WIDTH }), t.data, octet)),
      ...c.bundles.map(async (b) => this.put(tilePath({ level: "entries", index: b.index, width: TILE_WIDTH }), await gz(b.data), { ...octet, "content-encoding": "gzip" })),
      ...leafList(c).map((h, i) => this.put(antispamPath(h), String(c.firstIndex + i), { "content-type": "text/plain", "cache-control": "no-store" })),
    ]);
    const fence: Record<string, string> = this.etag ? { "if-match": this.etag } : { "if-none-match": "*" };
    const res = await this.put(STATE, encodeState(c.state), { "content-type": "application/octet-stream", "cache-control": "no-store", ...fence });
    this.etag = res.headers.get("etag");
    this.size = c.state.size;
  }

  async sync(): Promise<void> {}

  async publish(p: Publication): Promise<void> {
    const e = p.edge;
    const octet = { "content-type": "application/octet-stream", "cache-control": IMMUTABLE };
    const puts: Promise<Response>[] = [];
    e.tiles.forEach((t, L) => {
      const width = t.length / HASH_SIZE;
      if (width > 0) puts.push(this.put(tilePath({ level: L, index: Math.floor(hashesAtLevel(e.size, L) / TILE_WIDTH), width }), t, octet));
    });
    if (e.entries.length > 0) {
      const body = await gz(encodeEntryBundle(e.entries));
      puts.push(this.put(tilePath({ level: "entries", index: Math.floor(e.size / TILE_WIDTH), width: e.entries.length }), body, { ...octet, "content-encoding": "gzip" }));
    }
    await Promise.all(puts);
    await this.put("checkpoint", p.note, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" });
  }

  async readTile(level: number, index: number): Promise<Uint8Array | null> {
    return (await this.getObject(tilePath({ level, index, width: TILE_WIDTH })))?.data ?? null;
  }

  async readBundle(index: number): Promise<Uint8Array | null> {
    const o = await this.getObject(tilePath({ level: "entries", index, width: TILE_WIDTH }));
    return o && gunzipIfNeeded(o.data); // fetch has usually undone Content-Encoding already
  }

  findLeaves(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    return Promise.all(
      leaves.map(async (h) => {
        const o = await this.getObject(antispamPath(h));
        if (!o) return undefined;
        const i = Number(Buffer.from(o.data).toString("utf8"));
        if (!Number.isSafeInteger(i) || i < 0) throw new S3StoreError(`${this.base}/${antispamPath(h)} holds no index`);
        return i;
      }),
    );
  }

  async close(): Promise<void> {}
}
