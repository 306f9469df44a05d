/**
 * A verifiable map, the pure core of the map service: string keys (UTF-8, at most 32 bytes, no NUL) laid into
 * the 256-level sparse Merkle tree in their own byte order (zero-padded), so that key ranges and prefixes are
 * tree ranges and can be proven complete; byte values. Every write batch moves the root and the revision; each
 * batch is recorded as one canonical entry (`encodeMapEntry`) so anyone replaying the log reproduces every root.
 *
 * Reads come with proofs against the current root: inclusion or exclusion for one key, one shared batch proof
 * for several, and range proofs (every entry in [from, to], and that there are no others).
 */
import { type Hash, hashEquals, SparseMerkleTree, SmtError, verifyRangeProof, verifySmtBatch, verifySmtProof, type RangeProof, type SmtProof } from "../prooflog/index.js";

const MAX_KEY_BYTES = 32;
const MAX_VALUE_BYTES = 65_536;

export class MapError extends Error {
  override name = "MapError";
}

/** The tree key of a map key: its UTF-8 bytes, zero-padded to 32 (order-preserving). */
export function treeKey(key: string): Buffer {
  const b = Buffer.from(key, "utf8");
  if (b.length === 0 || b.length > MAX_KEY_BYTES) throw new MapError(`key "${key.slice(0, 40)}" is ${b.length} bytes; map keys are 1..${MAX_KEY_BYTES} bytes of UTF-8`);
  if (b.includes(0)) throw new MapError(`key "${key.slice(0, 40)}" contains NUL`);
  const k = Buffer.alloc(MAX_KEY_BYTES);
  b.copy(k);
  return k;
}

export function keyOf(tree: Uint8Array): string {
  const b = Buffer.from(tree);
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString("utf8");
}

/** Tree-key bounds of a prefix query: every key starting with `prefix`. */
export function prefixBounds(prefix: string): [Buffer, Buffer] {
  const lo = prefix === "" ? Buffer.alloc(MAX_KEY_BYTES) : treeKey(prefix);
  const hi = Buffer.alloc(MAX_KEY_BYTES, 0xff);
  Buffer.from(prefix, "utf8").copy(hi);
  return [lo, hi];
}

export type MapWrite = [key: string, value: Uint8Array | null];

export interface MapEntry {
  map: string;
  revision: number;
  root: Hash;
  writes: MapWrite[];
}

/** The log entry recording a write batch (canonical JSON: fixed field order, values base64, deletes null). */
export function encodeMapEntry(e: MapEntry): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: "meridian-vmap/1",
      map: e.map,
      revision: e.revision,
      root: Buffer.from(e.root).toString("base64"),
      writes: e.writes.map(([k, v]) => [k, v === null ? null : Buffer.from(v).toString("base64")]),
    }),
  );
}

/**
 * The log entry a restarting map service appends before it reads the log: the heads it restored, and a nonce so
 * the log never answers with an earlier record's index. The log sequences in order, so once a checkpoint covers
 * this entry it covers every batch acknowledged before the restart (a Raft leader's no-op entry, for the same reason).
 * decodeMapEntry skips it.
 */
export function encodeResumeEntry(heads: readonly { map: string; revision: number; root: Hash }[], nonce: string): Buffer {
  return Buffer.from(JSON.stringify({ v: "meridian-vmap-resume/1", nonce, maps: heads.map((h) => ({ map: h.map, revision: h.revision, root: Buffer.from(h.root).toString("base64") })) }));
}

/** Decode a log entry; null when it is not a map entry. */
export function decodeMapEntry(entry: Uint8Array): MapEntry | null {
  let doc: { v?: unknown; map?: unknown; revision?: unknown; root?: unknown; writes?: unknown };
  try {
    doc = JSON.parse(Buffer.from(entry).toString("utf8")) as typeof doc;
  } catch {
    return null;
  }
  if (doc?.v !== "meridian-vmap/1" || typeof doc.map !== "string" || !Number.isSafeInteger(doc.revision) || typeof doc.root !== "string" || !Array.isArray(doc.writes)) return null;
  const writes = (doc.writes as unknown[]).map((w) => {
    if (!Array.isArray(w) || typeof w[0] !== "string" || !(w[1] === null || typeof w[1] === "string")) throw new MapError("malformed map entry write");
    return [w[0], w[1] === null ? null : Buffer.from(w[1], "base64")] as MapWrite;
  });
  return { map: doc.map, revision: doc.revision as number, root: Buffer.from(doc.root, "base64"), writes };
}

/** Checks every key and value of a batch (throws MapError naming the first bad one); returns the tree keys. */
export function validateWrites(writes: readonly MapWrite[]): Buffer[] {
  const keys = writes.map(([k]) => treeKey(k));
  for (const [k, v] of writes) if (v !== null && v.length > MAX_VALUE_BYTES) throw new MapError(`value of "${k}" is ${v.length} bytes; at most ${MAX_VALUE_BYTES}`);
  return keys;
}

/** Bytes the writes add to their batch's log entry (`encodeMapEntry`): each one's JSON and a separating comma. */
export function entryBytesOf(writes: readonly MapWrite[]): number {
  let n = 0;
  for (const [k, v] of writes) n += Buffer.byteLength(JSON.stringify([k, v === null ? null : Buffer.from(v).toString("base64")])) + 1;
  return n;
}

/** Bytes of a map's log entry without its writes, at the largest revision (so entryBytesOf adds up to an upper bound). */
export function entryOverheadOf(map: string): number {
  return encodeMapEntry({ map, revision: Number.MAX_SAFE_INTEGER, root: Buffer.alloc(32), writes: [] }).length;
}

/** Whether `writes` are still what was staged: the same keys and, byte for byte, the values `stage` copied. */
function sameWrites(staged: readonly StagedWrite[], writes: readonly MapWrite[]): boolean {
  return (
    staged.length === writes.length &&
    staged.every(([k, v], i) => {
      const [k2, v2] = writes[i]!;
      return k === k2 && (v === null || v2 == null ? v === (v2 ?? null) : v.equals(v2));
    })
  );
}
type StagedWrite = [key: string, value: Buffer | null];

export class VerifiableMap {
  private readonly tree = new SparseMerkleTree();
  /** The staged tree of each entry `stage` returned, and a copy of the writes it holds, for `commit` to adopt. */
  private readonly staged = new WeakMap<MapEntry, { tree: ReturnType<SparseMerkleTree["stage"]>; writes: readonly StagedWrite[] }>();
  revision = 0;

  constructor(readonly name: string) {}

  /** A map restored from stored values at `revision`; throws unless they hash to the root recorded for it. */
  static restore(name: string, revision: number, values: Iterable<{ key: Uint8Array; value: Uint8Array }>, root: Hash | null): VerifiableMap {
    const m = new VerifiableMap(name);
    for (const { key, value } of values) m.tree.set(key, value);
    m.revision = revision;
    if (root && !hashEquals(m.root(), root)) throw new MapError(`map ${name}: the stored values do not hash to the stored root of revision ${revision}`);
    return m;
  }

  /** Every (tree key, value) held (for snapshots). */
  entries(): Iterable<{ key: Buffer; value: Uint8Array }> {
    return this.tree.entries();
  }

  root(): Hash {
    return this.tree.root();
  }

  get(key: string): Uint8Array | undefined {
    return this.tree.get(treeKey(key));
  }

  /**
   * The entry a batch (null deletes) would make, without changing the map: the batch is written into a path copy
   * of the tree (SparseMerkleTree.stage: the branches on the written keys' paths copied, the rest shared), so
   * readers keep seeing the current revision until `commit` — which the service calls only once the log holds the
   * entry — adopts it. Validates every key and value; a key written twice keeps its last value.
   */
  stage(writes: readonly MapWrite[]): MapEntry {
    const keys = validateWrites(writes);
    const tree = this.tree.stage(writes.map(([, v], i) => [keys[i]!, v ?? undefined] as const)); // keys and values are validated above, so no write throws
    const e: MapEntry = { map: this.name, revision: this.revision + 1, root: tree.root, writes: [...writes] };
    // A copy of the values: a buffer changed in place after staging must not be adopted with the root it was staged with.
    this.staged.set(e, { tree, writes: writes.map(([k, v]): StagedWrite => [k, v == null ? null : Buffer.from(v)]) });
    return e;
  }

  /**
   * Publish a staged batch: the map moves to its revision and root in one synchronous step (no reader sees between).
   * The tree `stage` built for this entry becomes the live one when nothing was written since and the entry's writes
   * are the ones staged; else (an entry built elsewhere, a map that moved) the writes are applied to the tree.
   */
  commit(e: MapEntry): void {
    if (e.map !== this.name || e.revision !== this.revision + 1)
      throw new MapError(`map ${this.name} is at revision ${this.revision}: a batch staged as ${e.map} revision ${e.revision} does not apply`);
    const staged = this.staged.get(e);
    this.staged.delete(e);
    const root =
      staged && this.tree.canAdopt(staged.tree) && sameWrites(staged.writes, e.writes)
        ? this.tree.adopt(staged.tree)
        : this.tree.setMany(e.writes.map(([k, v]) => [treeKey(k), v ?? undefined] as const));
    this.revision = e.revision;
    if (!hashEquals(root, e.root)) throw new MapError(`map ${this.name}: revision ${e.revision} committed to a different root than it was staged with`);
  }

  /** Stage and commit at once (replay, tests): returns the entry that records the batch. */
  apply(writes: readonly MapWrite[]): MapEntry {
    const e = this.stage(writes);
    this.commit(e);
    return e;
  }

  /** Every (tree key, value) the map will hold once `staged` is committed (a store's snapshot of it, taken before). */
  *entriesAfter(staged: MapEntry): Iterable<{ key: Buffer; value: Uint8Array }> {
    const changed = new Map<string, { key: Buffer; value: Uint8Array | null }>();
    for (const [k, v] of staged.writes) changed.set(treeKey(k).toString("hex"), { key: treeKey(k), value: v });
    for (const e of this.tree.entries()) if (!changed.has(e.key.toString("hex"))) yield e;
    for (const { key, value } of changed.values()) if (value !== null) yield { key, value };
  }

  /** Replay a logged batch; throws, changing nothing, unless it is the next revision and reproduces the recorded root. */
  replay(e: MapEntry): void {
    if (e.revision !== this.revision + 1) throw new MapError(`map ${this.name}: logged revision ${e.revision} does not follow ${this.revision}`);
    const staged = this.stage(e.writes);
    if (!hashEquals(staged.root, e.root)) throw new MapError(`map ${this.name}: revision ${e.revision} replays to a different root than the log recorded`);
    this.commit(staged);
  }

  prove(key: string): { value: Uint8Array | null; proof: SmtProof } {
    const k = treeKey(key);
    return { value: this.tree.get(k) ?? null, proof: this.tree.prove(k) };
  }

  proveBatch(keys: readonly string[]): { values: (Uint8Array | null)[]; proof: SmtProof } {
    const ks = keys.map(treeKey);
    if (new Set(ks.map((k) => k.toString("hex"))).size !== ks.length) throw new MapError("a batch proof lists a key twice");
    return { values: ks.map((k) => this.tree.get(k) ?? null), proof: this.tree.proveBatch(ks) };
  }

  proveRange(lo: Uint8Array, hi: Uint8Array): RangeProof {
    try {
      return this.tree.proveRange(lo, hi);
    } catch (e) {
      if (e instanceof SmtError) throw new MapError(e.message);
      throw e;
    }
  }
}

export function verifyMapRead(root: Hash, key: string, value: Uint8Array | null, proof: SmtProof): boolean {
  return verifySmtProof(root, treeKey(key), value ?? undefined, proof);
}

export function verifyMapBatch(root: Hash, keys: readonly string[], values: readonly (Uint8Array | null)[], proof: SmtProof): boolean {
  return verifySmtBatch(
    root,
    keys.map((k, i) => [treeKey(k), values[i] ?? undefined] as [Uint8Array, Uint8Array | undefined]),
    proof,
  );
}

export function verifyMapRange(root: Hash, lo: Uint8Array, hi: Uint8Array, proof: RangeProof): boolean {
  return verifyRangeProof(root, lo, hi, proof);
}
