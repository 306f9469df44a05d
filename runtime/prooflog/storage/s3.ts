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

/** The text of an XML element's content (S3 escapes &, <, > and may use character references). */
const xmlText = (t: string) =>
  t.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e[0] === "#" ? String.fromCodePoint(Number(e[1] === "x" ? `0${e.slice(1)}` : e.slice(1))) : ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[e]!,
  );

export class S3Store implements TileStore {
  readonly description: string;
  private readonly base: string;
  /** Endpoint and bucket, and the key prefix under it ("" or ending in "/"): what ListObjectsV2 needs apart. */
  private readonly bucketUrl: string;
  private readonly keyPrefix: string;
  private readonly client: AwsClient;
  private etag: string | null = null;
  private size = 0;

  constructor(o: S3StoreOptions) {
    this.base = o.url.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+\/[^/]+/.test(this.base)) throw new S3StoreError(`S3 URL "${o.url}" must be <http(s) endpoint>/<bucket>[/<prefix>]`);
    this.description = `S3 store ${this.base}`;
    const m = /^(https?:\/\/[^/]+\/[^/]+)(?:\/(.+))?$/.exec(this.base)!;
    this.bucketUrl = m[1]!;
    this.keyPrefix = m[2] ? `${m[2]}/` : "";
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
   * Record the minimum, DELETE the full bundles ending at or below it and the partial bundles listed beside them,
   * record the sweep done. S3 answers a DELETE alike whether or not the object existed, so this resolves to the
   * number of bundles swept.
   */
  async prune(minIndex: number): Promise<number> {
    const was = await this.readPruned();
    const target = Math.max(was.target, minIndex);
    const from = Math.floor(was.done / TILE_WIDTH);
    const end = Math.floor(target / TILE_WIDTH);
    await this.writePruned(target, was.done);
    const full = Array.from({ length: Math.max(0, end - from) }, (_, k) => tilePath({ level: "entries", index: from + k, width: TILE_WIDTH }));
    await this.deleteAll([...full, ...(await this.partialBundles(from, end))]);
    await this.writePruned(target, Math.max(was.done, end * TILE_WIDTH));
    return Math.max(0, end - from);
  }

  private async deleteAll(paths: readonly string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += 64) await Promise.all(paths.slice(i, i + 64).map((p) => this.req("DELETE", p)));
  }

  /**
   * The partial bundles of bundles [from, end), listed: a bundle may have any of 255 (one per checkpoint published
   * while the tree ended in it). One listing per directory of 1,000 bundles, not one per bundle: in a directory S3
   * lists `NNN`, then its `NNN.p/W`, then `NNN+1`… (UTF-8 order), and deeper directories (`xNNN/…`) after them all,
   * so the listing stops at the first name past the range. A store that lists in another order stops early and
   * leaves some partial bundles behind, never deletes one above the minimum: only names parsed in range are returned.
   */
  private async partialBundles(from: number, end: number): Promise<string[]> {
    const out: string[] = [];
    for (let lo = from; lo < end; lo = Math.floor(lo / 1000) * 1000 + 1000) {
      const first = tilePath({ level: "entries", index: lo, width: TILE_WIDTH });
      const dir = first.slice(0, first.lastIndexOf("/") + 1);
      const base = Math.floor(lo / 1000) * 1000;
      const after = lo % 1000 === 0 ? undefined : tilePath({ level: "entries", index: lo - 1, width: TILE_WIDTH });
      for await (const key of this.list(dir, after)) {
        const m = /^([0-9]{3})(?:\.p\/([0-9]{1,3}))?$/.exec(key.slice(dir.length));
        if (!m) {
          if (key.slice(dir.length).startsWith("x")) break;
          continue; // not a bundle name: leave it be
        }
        const n = base + Number(m[1]);
        if (n >= end) break;
        if (n >= lo && m[2] !== undefined) out.push(key);
      }
    }
    return out;
  }

  /** Keys under `prefix` (below the store's own prefix), in the order S3 lists them: ListObjectsV2, page by page. */
  private async *list(prefix: string, startAfter?: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ "list-type": "2", prefix: this.keyPrefix + prefix });
      if (token !== undefined) q.set("continuation-token", token);
      else if (startAfter !== undefined) q.set("start-after", this.keyPrefix + startAfter);
      const url = `${this.bucketUrl}?${q.toString()}`;
      let res: Response;
      try {
        res = await this.client.fetch(url);
      } catch (e) {
        throw new S3StoreError(`GET ${url}: ${String((e as Error).cause ?? (e as Error).message)}`, { cause: e });
      }
      const xml = await res.text();
      if (!res.ok) throw new S3StoreError(`GET ${url}: HTTP ${res.status} ${xml.slice(0, 200)}`);
      for (const [, key] of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) yield xmlText(key!).slice(this.keyPrefix.length);
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? xmlText(/<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1] ?? "") : undefined;
      if (token === "") throw new S3StoreError(`GET ${url}: a truncated listing without a NextContinuationToken`);
    } while (token !== undefined);
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
