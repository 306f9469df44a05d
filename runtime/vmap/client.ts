/**
 * Client of the map service for other services (escrow balances, quota state): writes, and reads that are
 * verified here against the root the service answers with — and, given a trusted root (from a log checkpoint's
 * map entry, or one seen before), against that — so a lying service can only make a read fail.
 */
import { prefixBounds, treeKey, verifyMapBatch, verifyMapRange, verifyMapRead, keyOf } from "./map.js";

class MapClientError extends Error {
  override name = "MapClientError";
}

const unb64 = (s: string | null) => (s === null ? null : Buffer.from(s, "base64"));

export interface MapClientOptions {
  /** Extra request headers, e.g. `authorization: Bearer <JWT>` for writes. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export class MapClient {
  private readonly base: string;
  constructor(
    base: string,
    private readonly o: MapClientOptions = {},
  ) {
    this.base = base.replace(/\/+$/, "");
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await (this.o.fetch ?? fetch)(`${this.base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...this.o.headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new MapClientError(`${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Apply a batch (null deletes); resolves once it is recorded in the proof log. */
  write(map: string, writes: [string, Uint8Array | null][]): Promise<{ revision: number; root: string; logIndex: number | null }> {
    return this.call("POST", `/v1/maps/${encodeURIComponent(map)}/writes`, { writes: writes.map(([key, v]) => ({ key, value: v === null ? null : Buffer.from(v).toString("base64") })) });
  }

  /**
   * `write`, answered with a batch proof of the written keys against the batch's root, verified here: the values the
   * keys hold at that root (a key another writer in the same batch wrote after this one shows that writer's value).
   */
  async writeProven(map: string, writes: [string, Uint8Array | null][]): Promise<{ revision: number; root: string; logIndex: number | null; values: Map<string, Buffer | null> }> {
    const r = await this.call<{ revision: number; root: string; logIndex: number | null; keys: string[]; values: (string | null)[]; proof: (string | null)[] }>(
      "POST",
      `/v1/maps/${encodeURIComponent(map)}/writes`,
      { writes: writes.map(([key, v]) => ({ key, value: v === null ? null : Buffer.from(v).toString("base64") })), proof: true },
    );
    const values = r.values.map(unb64);
    const asked = new Set(writes.map(([k]) => k));
    if (r.keys.length !== asked.size || !r.keys.every((k) => asked.has(k)) || !verifyMapBatch(Buffer.from(r.root, "base64"), r.keys, values, r.proof.map(unb64)))
      throw new MapClientError(`the write's proof does not verify against batch root ${r.root}`);
    return { revision: r.revision, root: r.root, logIndex: r.logIndex, values: new Map(r.keys.map((k, i) => [k, values[i]!])) };
  }

  root(map: string): Promise<{ revision: number; root: string; logIndex: number | null }> {
    return this.call("GET", `/v1/maps/${encodeURIComponent(map)}/root`);
  }

  private check(root: string, trusted?: string): Buffer {
    if (trusted !== undefined && trusted !== root) throw new MapClientError(`the service answered at root ${root}, not the trusted ${trusted}`);
    return Buffer.from(root, "base64");
  }

  /** A key's value (null: absent), proven against the answered (or trusted) root. */
  async read(map: string, key: string, trustedRoot?: string): Promise<{ value: Buffer | null; revision: number; root: string }> {
    treeKey(key);
    const r = await this.call<{ value: string | null; revision: number; root: string; proof: (string | null)[] }>("GET", `/v1/maps/${encodeURIComponent(map)}/keys/${encodeURIComponent(key)}`);
    const value = unb64(r.value);
    if (!verifyMapRead(this.check(r.root, trustedRoot), key, value, r.proof.map(unb64))) throw new MapClientError(`the proof for "${key}" does not verify against root ${r.root}`);
    return { value, revision: r.revision, root: r.root };
  }

  async readMany(map: string, keys: string[], trustedRoot?: string): Promise<{ values: (Buffer | null)[]; root: string }> {
    const r = await this.call<{ values: (string | null)[]; root: string; proof: (string | null)[] }>("POST", `/v1/maps/${encodeURIComponent(map)}/proofs`, { keys });
    const values = r.values.map(unb64);
    if (!verifyMapBatch(this.check(r.root, trustedRoot), keys, values, r.proof.map(unb64))) throw new MapClientError(`the batch proof does not verify against root ${r.root}`);
    return { values, root: r.root };
  }

  /** Every entry whose key starts with `prefix`, proven complete. */
  async readPrefix(map: string, prefix: string, trustedRoot?: string): Promise<{ entries: [string, Buffer][]; root: string }> {
    const [lo, hi] = prefixBounds(prefix);
    const r = await this.call<{ entries: { key: string; value: string }[]; outside: (string | null)[]; root: string }>(
      "GET",
      `/v1/maps/${encodeURIComponent(map)}/range?prefix=${encodeURIComponent(prefix)}`,
    );
    const proof = { entries: r.entries.map((e) => ({ key: Buffer.from(e.key, "base64"), value: Buffer.from(e.value, "base64") })), outside: r.outside.map(unb64) };
    if (!verifyMapRange(this.check(r.root, trustedRoot), lo, hi, proof)) throw new MapClientError(`the range proof for prefix "${prefix}" does not verify against root ${r.root}`);
    return { entries: proof.entries.map((e) => [keyOf(e.key), e.value]), root: r.root };
  }
}
