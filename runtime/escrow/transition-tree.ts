/**
 * The transition log's state tree and sequencer (transition-log.ts): the same sparse Merkle tree as runtime/prooflog's
 * `SparseMerkleTree` — the same 256-level hashes, roots and leaves, so `meridian fraud challenge` replays the log with
 * runtime/fraud's `EscrowSequencer` state and gets the same roots — computed with fewer and cheaper hashes, because
 * under load the log's hashing is what the escrow's ledger events cost.
 *
 * Where the hashes go: every leaf a tx writes changes its leaf hash, and a key alone in its subtree (a "shortcut", as
 * every key is below the few branch levels of the tree) is hashed up past ~240 default siblings to the height where
 * it sits — ~240 chained SHA-256 per written leaf, ~4 leaves written per sale. That chain cannot be shortened without
 * changing the tree's definition; what this file changes is the rest:
 *   - a key's chain at height MID (32 levels below the root) is kept with its shortcut, so when a new key splits its
 *     subtree (every reservation makes one key move down a level or two) it is hashed up from MID (~14 hashes), not
 *     from its leaf again (~240);
 *   - hashes are words (Int32Array, 8 a hash) moved into and out of hash-wasm's compiled SHA-256 a word at a time,
 *     a lone key's chain without leaving its buffer, the default siblings precomputed as words — no Uint8Array or
 *     Buffer per hash, no byte loops;
 *   - a leaf a tx leaves unchanged is not rewritten; a leaf's SMT key (SHA-256 of its name) is computed once.
 * Until the WebAssembly core has loaded (and if it cannot), hashes go through node:crypto:
 * the same values. test/runtime/escrow/transition-tree.test.ts holds the roots equal to `SparseMerkleTree`'s.
 */
import { hash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { encodeEntry, escrowKeys, executeEscrow, FraudInputError, parseEscrowTx, smtKey, type Entry, type EscrowTx } from "../fraud/index.js";
import { MerkleTree, signCheckpoint, type Hash, type Signer } from "../prooflog/index.js";

const DEPTH = 256;
/** The height up to which a shortcut's chain is kept (keys sit higher unless ~2^32 of them share a prefix). */
const MID = DEPTH - 32;

/** SHA-256 through node:crypto (before the WebAssembly core has loaded, or if it cannot). */
const sha256 = (...parts: Uint8Array[]): Buffer => hash("sha256", Buffer.concat(parts), "buffer");

/**
 * hash-wasm's compiled SHA-256 called through its WebAssembly exports (as runtime/prooflog/rfc6962.ts does): the
 * 65-byte input framed at byte 0 of its buffer (the prefix, then two hashes written a word at a time at bytes 1
 * and 33, little-endian: the platform's order, checked at load), the digest read back from byte 0 as 8 words.
 */
interface Core {
  mem: Uint8Array;
  view: DataView;
  digest: Int32Array;
  calculate: (length: number, bits: number, unused: number) => void;
}
let core: Core | null = null;

async function loadCore(): Promise<Core> {
  const bundle = await readFile(createRequire(import.meta.url).resolve("hash-wasm/dist/sha256.umd.min.js"), "utf8");
  const b64 = /"(AGFzbQ[A-Za-z0-9+/=]+)"/.exec(bundle)?.[1];
  if (!b64) throw new Error("hash-wasm's SHA-256 module not found in its bundle");
  const { instance } = await WebAssembly.instantiate(Buffer.from(b64, "base64"));
  const x = instance.exports as Record<string, unknown>;
  const at = (x["Hash_GetBuffer"] as () => number)();
  const memory = (x["memory"] as WebAssembly.Memory).buffer;
  if (at % 4 !== 0 || new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("word copies need an aligned buffer on a little-endian platform");
  const c: Core = { mem: new Uint8Array(memory, at, 65), view: new DataView(memory, at, 65), digest: new Int32Array(memory, at, 8), calculate: x["Hash_Calculate"] as Core["calculate"] };
  // Known answer: a node hash of two distinct hashes, against node:crypto.
  const l = sha256(Buffer.from("l"));
  const r = sha256(Buffer.from("r"));
  c.mem[0] = 1;
  c.mem.set(l, 1);
  c.mem.set(r, 33);
  c.calculate(65, 256, 0);
  if (!Buffer.from(c.mem.subarray(0, 32)).equals(sha256(Buffer.from([1]), l, r))) throw new Error("hash-wasm's SHA-256 module fails its known answer");
  return c;
}

/** Resolves once hashes go through the WebAssembly core; never rejects. */
export const transitionHashingReady: Promise<void> = loadCore().then(
  (c) => void (core = c),
  () => undefined,
);
/** For tests: hash through node:crypto (false) or the WebAssembly core (true, once loaded). */
let wasmAllowed = true;
export function useTransitionWasm(on: boolean): void {
  wasmAllowed = on;
}

const bytesOf = (w: Int32Array, at = 0): Uint8Array => new Uint8Array(w.buffer, w.byteOffset + 4 * at, 32);
const wordsOf = (b: Uint8Array): Int32Array => new Int32Array(Uint8Array.from(b).buffer);

/** The default hashes as words: DW[8h…8h+7] is the hash of an empty subtree of height h (32 zero bytes at 0). */
const DW = new Int32Array((DEPTH + 1) * 8);
for (let h = 0; h < DEPTH; h++) DW.set(wordsOf(sha256(Buffer.from([1]), bytesOf(DW, 8 * h), bytesOf(DW, 8 * h))), 8 * (h + 1));

/** SHA-256(prefix ‖ a[ao…ao+7] ‖ b[bo…bo+7]) as 8 new words. */
function hash65(prefix: number, a: Int32Array, ao: number, b: Int32Array, bo: number): Int32Array {
  const c = wasmAllowed ? core : null;
  if (!c) return wordsOf(sha256(Buffer.from([prefix]), bytesOf(a, ao), bytesOf(b, bo)));
  const v = c.view;
  for (let j = 0; j < 8; j++) {
    v.setInt32(1 + 4 * j, a[ao + j]!, true);
    v.setInt32(33 + 4 * j, b[bo + j]!, true);
  }
  c.mem[0] = prefix;
  c.calculate(65, 256, 0);
  return c.digest.slice(0, 8);
}

/** Bit i of the key (0 = the most significant, the top branch). */
const bit = (key: Uint8Array, i: number): number => (key[i >> 3]! >> (7 - (i & 7))) & 1;

/** The chain of a lone key from `start` (its hash at height `from`) up to height `to`, past default siblings. */
function chain(key: Uint8Array, start: Int32Array, from: number, to: number): Int32Array {
  const c = wasmAllowed ? core : null;
  if (!c) {
    let h = start;
    for (let i = from; i < to; i++) h = bit(key, DEPTH - 1 - i) === 0 ? hash65(1, h, 0, DW, 8 * i) : hash65(1, DW, 8 * i, h, 0);
    return h;
  }
  // The running hash stays in the core's buffer: its digest (bytes 0…31) is moved straight into the next input —
  // to bytes 1…32 from the last word down (each word read before the write that overlaps it), or to 33…64 — and
  // only then the default sibling written beside it.
  const v = c.view;
  const d = c.digest;
  for (let j = 0; j < 8; j++) d[j] = start[j]!;
  for (let i = from; i < to; i++) {
    const s = 8 * i;
    if (bit(key, DEPTH - 1 - i) === 0) {
      for (let j = 7; j >= 0; j--) v.setInt32(1 + 4 * j, d[j]!, true);
      for (let j = 0; j < 8; j++) v.setInt32(33 + 4 * j, DW[s + j]!, true);
    } else {
      for (let j = 0; j < 8; j++) v.setInt32(33 + 4 * j, d[j]!, true);
      for (let j = 0; j < 8; j++) v.setInt32(1 + 4 * j, DW[s + j]!, true);
    }
    c.mem[0] = 1;
    c.calculate(65, 256, 0);
  }
  return d.slice(0, 8);
}

/** The only key of its subtree: its leaf hash, its chain at MID, and its subtree's hash at the height last asked. */
interface Shortcut {
  key: Buffer;
  leaf: Int32Array;
  mid?: Int32Array;
  top?: { height: number; hash: Int32Array };
}

interface Branch {
  children: [TrieNode | undefined, TrieNode | undefined];
  hash?: Int32Array;
}

type TrieNode = Shortcut | Branch;
const isShortcut = (n: TrieNode): n is Shortcut => "key" in n;

function lone(s: Shortcut, height: number): Int32Array {
  if (s.top?.height === height) return s.top.hash;
  let h: Int32Array;
  if (height >= MID) h = chain(s.key, (s.mid ??= chain(s.key, s.leaf, 0, MID)), MID, height);
  else h = chain(s.key, s.leaf, 0, height);
  s.top = { height, hash: h };
  return h;
}

function hashOf(node: TrieNode | undefined, height: number): Int32Array {
  if (node === undefined) return DW.subarray(8 * height, 8 * height + 8);
  if (isShortcut(node)) return lone(node, height);
  if (node.hash) return node.hash;
  const l = hashOf(node.children[0], height - 1);
  const r = hashOf(node.children[1], height - 1);
  return (node.hash = hash65(1, l, 0, r, 0));
}

function insert(node: TrieNode | undefined, depth: number, s: Shortcut): TrieNode {
  if (node === undefined) return s;
  if (isShortcut(node)) {
    if (node.key.equals(s.key)) return s;
    const branch: Branch = { children: [undefined, undefined] };
    branch.children[bit(node.key, depth)] = node;
    return insert(branch, depth, s);
  }
  const side = bit(s.key, depth);
  node.children[side] = insert(node.children[side], depth + 1, s);
  node.hash = undefined;
  return node;
}

function remove(node: TrieNode | undefined, depth: number, key: Buffer): TrieNode | undefined {
  if (node === undefined) return undefined;
  if (isShortcut(node)) return node.key.equals(key) ? undefined : node;
  const side = bit(key, depth);
  node.children[side] = remove(node.children[side], depth + 1, key);
  node.hash = undefined;
  const [l, r] = node.children;
  if (l === undefined && r === undefined) return undefined;
  const only = l === undefined ? r! : r === undefined ? l : undefined;
  return only !== undefined && isShortcut(only) ? only : node;
}

/** The escrow machine's state (runtime/fraud/escrow-machine.ts leaves by name) on the tree above. */
export class TransitionState {
  private trie: TrieNode | undefined;
  /** Each present leaf by name: its SMT key and value. */
  private readonly leaves = new Map<string, { key: Buffer; value: string }>();
  /** SMT keys of names written and since deleted (a reservation's leaf comes and goes); bounded by clearing. */
  private readonly gone = new Map<string, Buffer>();

  root(): Hash {
    return Uint8Array.from(bytesOf(hashOf(this.trie, DEPTH)));
  }

  read(name: string): string | undefined {
    return this.leaves.get(name)?.value;
  }

  /** Set (or with undefined, delete) a leaf by name. */
  write(name: string, value: string | undefined): void {
    const had = this.leaves.get(name);
    if (had?.value === value) return;
    const key = had?.key ?? this.gone.get(name) ?? smtKey(name);
    if (value === undefined) {
      if (!had) return;
      this.leaves.delete(name);
      if (this.gone.size >= 4096) this.gone.clear();
      this.gone.set(name, key);
      this.trie = remove(this.trie, 0, key);
      return;
    }
    this.gone.delete(name);
    this.leaves.set(name, { key, value });
    const valueHash = hash("sha256", Buffer.from(value, "utf8"), "buffer");
    const leaf = hash65(0, new Int32Array(key.buffer.slice(key.byteOffset, key.byteOffset + 32)), 0, wordsOf(valueHash), 0);
    this.trie = insert(this.trie, 0, { key, leaf });
  }

  /** Apply a tx; the post root, or why it is invalid (state unchanged). */
  apply(tx: EscrowTx): Hash | string {
    const next = executeEscrow(tx, new Map(escrowKeys(tx).map((k) => [k, this.read(k)])));
    if (typeof next === "string") return next;
    for (const [k, v] of next) this.write(k, v);
    return this.root();
  }
}

/**
 * runtime/fraud's `EscrowSequencer` on `TransitionState`: executes ledger txs, appends (pre, tx, post) to an RFC 6962
 * log and signs checkpoints; the same entries, byte for byte.
 */
export class TransitionSequencer {
  readonly state = new TransitionState();
  readonly log = new MerkleTree();
  readonly entries: Buffer[] = [];
  private pre: Hash;

  constructor(
    readonly origin: string,
    private readonly signer: Signer,
  ) {
    this.pre = this.state.root();
  }

  /** Execute and log a tx; refuses (FraudInputError) an invalid one. */
  submit(tx: unknown): Entry {
    const valid = parseEscrowTx(tx);
    if (typeof valid === "string") throw new FraudInputError(valid);
    const post = this.state.apply(valid);
    if (typeof post === "string") throw new FraudInputError(post);
    const entry = { pre: this.pre, tx: valid, post };
    const bytes = encodeEntry(entry);
    this.entries.push(bytes);
    this.log.appendEntry(bytes);
    this.pre = post;
    return entry;
  }

  checkpoint(): string {
    return signCheckpoint({ origin: this.origin, size: this.log.size, root: this.log.root(), extensions: [] }, [this.signer]);
  }
}
