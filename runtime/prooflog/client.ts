/**
 * HTTP client of a log served by server.ts (or any tlog-tiles log for the tile reads). It returns raw material;
 * verification is the caller's job (see verifier.ts), so a lying server can only make verification fail.
 */
import { readFile } from "node:fs/promises";
import { MIN_INDEX_HEADER, PrunedError } from "./errors.js";
import { decodeEntryBundle, TILE_WIDTH, tilePath } from "./tiles.js";

export class LogClientError extends Error {
  override name = "LogClientError";
}

function errorCode(body: string): unknown {
  try {
    return (JSON.parse(body) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
}

export interface LogClientOptions {
  /** Headers sent with every append (tests: the x-forwarded-client-cert a pod's sidecar would add). */
  addHeaders?: Record<string, string>;
  /**
   * A file holding a bearer token sent with every append, read at each append (its writer renews it): where no mesh
   * names the appender (`meridian local`), the token carrying the log's scope for it (prooflog/submitters.ts).
   */
  tokenFile?: string;
}

export class LogClient {
  readonly base: string;
  private readonly addHeaders: Record<string, string>;
  private readonly tokenFile: string | undefined;
  constructor(base: string, options: LogClientOptions = {}) {
    this.base = base.replace(/\/+$/, "");
    this.addHeaders = options.addHeaders ?? {};
    this.tokenFile = options.tokenFile;
  }

  /** `end`: the entries a bundle path covers, for the PrunedError of a pruned bundle. */
  private async get(path: string, end = Number.NaN): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/${path}`);
    } catch (e) {
      throw new LogClientError(`cannot reach ${this.base}/${path}: ${(e as Error).cause ?? (e as Error).message}`);
    }
    if (!res.ok) {
      const text = await res.text();
      const minIndex = res.headers.get(MIN_INDEX_HEADER);
      // The server's 404 `pruned` (server.ts) is the library's PrunedError, so callers handle one error either way.
      if (res.status === 404 && minIndex !== null && /^[0-9]+$/.test(minIndex) && errorCode(text) === "pruned") throw new PrunedError(path, end, Number(minIndex));
      throw new LogClientError(`GET ${this.base}/${path}: HTTP ${res.status} ${text}`);
    }
    return res;
  }

  async checkpoint(): Promise<string> {
    return (await this.get("checkpoint")).text();
  }

  async add(entry: Uint8Array): Promise<{ index: number; duplicate?: boolean }> {
    const bearer: Record<string, string> = this.tokenFile === undefined ? {} : { authorization: `Bearer ${await this.token(this.tokenFile)}` };
    const res = await fetch(`${this.base}/add`, { method: "POST", body: Buffer.from(entry), headers: { ...this.addHeaders, ...bearer, "content-type": "application/octet-stream" } });
    if (!res.ok) throw new LogClientError(`POST ${this.base}/add: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as { index: number; duplicate?: boolean };
  }

  private async token(file: string): Promise<string> {
    try {
      return (await readFile(file, "utf8")).trim();
    } catch (e) {
      throw new LogClientError(`POST ${this.base}/add: cannot read the token file ${file}: ${(e as Error).message}`);
    }
  }

  async inclusionProof(index: number, size: number): Promise<Buffer[]> {
    const body = (await (await this.get(`proof/inclusion?index=${index}&size=${size}`)).json()) as { proof: string[] };
    return body.proof.map((h) => Buffer.from(h, "base64"));
  }

  /** A multi-leaf inclusion proof (proof/batch.ts): the indices come back sorted and distinct, with their leaf hashes. */
  async batchInclusionProof(indices: readonly number[], size: number): Promise<{ indices: number[]; leafHashes: Buffer[]; proof: Buffer[] }> {
    const body = (await (await this.get(`proof/inclusion-batch?indices=${indices.join(",")}&size=${size}`)).json()) as { indices: number[]; leafHashes: string[]; proof: string[] };
    const b = (h: string) => Buffer.from(h, "base64");
    return { indices: body.indices, leafHashes: body.leafHashes.map(b), proof: body.proof.map(b) };
  }

  async consistencyProof(oldSize: number, newSize: number): Promise<Buffer[]> {
    const body = (await (await this.get(`proof/consistency?old=${oldSize}&new=${newSize}`)).json()) as { proof: string[] };
    return body.proof.map((h) => Buffer.from(h, "base64"));
  }

  /** Entries [start, end) of a tree of `size` leaves, read bundle by bundle (entries are checked by the caller). */
  async entries(start: number, end: number, size: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      const bundle = decodeEntryBundle(Buffer.from(await (await this.get(tilePath({ level: "entries", index: n, width }), n * TILE_WIDTH + width)).arrayBuffer()));
      if (bundle.length !== width) throw new LogClientError(`entry bundle ${n} holds ${bundle.length} entries; expected ${width}`);
      out.push(...bundle.slice(Math.max(0, start - n * TILE_WIDTH), end - n * TILE_WIDTH));
    }
    return out;
  }

  /** Entry `index` of a tree of `size` leaves, read from its (full or partial) entry bundle. */
  async entry(index: number, size: number): Promise<Buffer> {
    if (index >= size) throw new LogClientError(`index ${index} is beyond the tree size ${size}`);
    const n = Math.floor(index / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const bundle = decodeEntryBundle(Buffer.from(await (await this.get(tilePath({ level: "entries", index: n, width }), n * TILE_WIDTH + width)).arrayBuffer()));
    const e = bundle[index % TILE_WIDTH];
    if (!e) throw new LogClientError(`entry bundle ${n} has no entry ${index}`);
    return e;
  }
}
