/**
 * A 256-level sparse Merkle tree over 32-byte keys with the default-hash optimisation: an empty subtree of
 * height h has the precomputed hash DEFAULT[h], and proofs mark default siblings with one bit instead of a hash.
 *
 *   leaf      = SHA-256(0x00 ‖ key ‖ SHA-256(value))      empty leaf = DEFAULT[0] = 32 zero bytes
 *   node      = SHA-256(0x01 ‖ left ‖ right)              DEFAULT[h+1] = node(DEFAULT[h], DEFAULT[h])
 * The key's bits, most significant first, choose the path from the root (bit 0 = left at the top).
 * Proofs prove inclusion (key → value) and exclusion (key absent) alike: exclusion is inclusion of the empty leaf.
 *
 * Representation: the hashes define a 256-level tree, but only its branching is stored — a binary trie whose
 * branch nodes sit where two present keys' paths part, and a shortcut leaf at the top of each subtree holding a
 * single key. The ~256 − log2(k) nodes between a lone key's leaf and its shortcut are hashed when needed, not
 * kept: ~2k objects for k keys instead of 256·k string-keyed map entries (which ran out of a 4 GB heap at 10^5
 * keys). Hashes and proofs are those of the 256-level tree, unchanged.
 */
import { type Hash, hashEquals, nodeHash } from "../rfc6962.js";
import { bit, DEFAULTS, DEPTH, KEY_SIZE, SmtError, smtLeafHash } from "./hashing.js";
import { walkRange, type RangeProof } from "./range.js";
import { firstDifference, hashOf, insert, isShortcut, LIVE, lone, remove, samePrefix, type Owner, type Shortcut, type TrieNode } from "./trie.js";

/** Storage id of the node at `height` above the leaves on the path of `key`. */
function nodeId(key: Uint8Array, height: number): string {
  const keep = DEPTH - height; // leading bits that identify the node
  const b = Buffer.from(key);
  for (let i = keep; i < DEPTH; i++) b[i >> 3]! &= ~(1 << (7 - (i & 7)));
  return `${height}:${b.toString("hex")}`;
}

function siblingKey(key: Uint8Array, height: number): Uint8Array {
  // Flip the bit that chooses between this node and its sibling.
  const b = Buffer.from(key);
  const i = DEPTH - 1 - height;
  b[i >> 3]! ^= 1 << (7 - (i & 7));
  return b;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_SIZE) throw new SmtError(`key is ${key.length} bytes; sparse Merkle keys are ${KEY_SIZE} bytes`);
}

/** Proof for one key: siblings bottom-up (height 0..255); `null` marks a default (empty-subtree) sibling. */
export type SmtProof = (Hash | null)[];

/**
 * One write to `trie`, in place or by path copying as `own` allows: the trie after it, the key's hex and the value's
 * own copy (undefined: deleted). Removing a key that is not `present` changes nothing, so no path is touched.
 */
function applyWrite(trie: TrieNode | undefined, key: Uint8Array, value: Uint8Array | undefined, own: Owner, present: (hex: string) => boolean): [TrieNode | undefined, string, Buffer | undefined] {
  checkKey(key);
  const k = Buffer.from(key);
  const hex = k.toString("hex");
  if (value === undefined) return [present(hex) ? remove(trie, 0, k, own) : trie, hex, undefined];
  const s: Shortcut = { key: k, leaf: smtLeafHash(key, value) };
  own.add(s);
  return [insert(trie, 0, s, own), hex, Buffer.from(value)];
}

/**
 * A batch of writes applied to a copy of the paths it touches (`SparseMerkleTree.stage`): its root, and what
 * `adopt` needs to make it the live tree. Valid only until the tree it was staged on is written.
 */
export interface StagedTree {
  readonly root: Hash;
}

class Staged implements StagedTree {
  constructor(
    readonly base: SparseMerkleTree,
    readonly version: number,
    readonly trie: TrieNode | undefined,
    /** The batch's value writes by key (hex), in order: applied to the values map only on adopt. */
    readonly changes: readonly (readonly [string, Uint8Array | undefined])[],
    readonly root: Hash,
  ) {}
}

export class SparseMerkleTree {
  private trie: TrieNode | undefined;
  private readonly values = new Map<string, Uint8Array>();
  /** Counts changes to the tree, so `adopt` can tell a staged batch was staged on the current one. */
  private version = 0;

  /** Hash of the node at `height` on the path of `key`. */
  private node(key: Uint8Array, height: number): Hash {
    const depth = DEPTH - height;
    let n = this.trie;
    for (let d = 0; d < depth; d++) {
      if (n === undefined) return DEFAULTS[height]!;
      if (isShortcut(n)) return samePrefix(n.key, key, depth) ? lone(n, height) : DEFAULTS[height]!;
      n = n.children[bit(key, d)];
    }
    return hashOf(n, height);
  }

  root(): Hash {
    return hashOf(this.trie, DEPTH);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    return this.values.get(Buffer.from(key).toString("hex"));
  }

  /** Set (or with `undefined`, delete) a key's value; returns the new root. */
  set(key: Uint8Array, value: Uint8Array | undefined): Hash {
    this.write(key, value);
    return this.root();
  }

  /**
   * Apply several writes and return the root after all of them, hashing once: a lone key's ~256 hashes up to
   * its shortcut are computed at the height where it ends up, not again each time a later key splits its subtree.
   */
  setMany(writes: Iterable<readonly [Uint8Array, Uint8Array | undefined]>): Hash {
    for (const [key, value] of writes) this.write(key, value);
    return this.root();
  }

  private write(key: Uint8Array, value: Uint8Array | undefined): void {
    const [trie, hex, v] = applyWrite(this.trie, key, value, LIVE, (h) => this.values.has(h));
    this.version++;
    this.trie = trie;
    if (v === undefined) this.values.delete(hex);
    else this.values.set(hex, v);
  }

  /**
   * The tree these writes (in order; a key written twice keeps its last value) would make, and its root, without
   * changing this one: each write copies the branches on its key's path (once per batch) instead of changing them, so
   * readers of this tree see its root, values, proofs and cached hashes as before, and the staged tree shares every
   * untouched subtree. `adopt` makes it the live tree; any other write to this tree first makes it stale.
   */
  stage(writes: Iterable<readonly [Uint8Array, Uint8Array | undefined]>): StagedTree {
    const made = new Set<TrieNode>();
    const own: Owner = { has: (n) => made.has(n), add: (n) => void made.add(n) };
    const changes: [string, Uint8Array | undefined][] = [];
    const present = new Map<string, boolean>(); // keys this batch has written: whether they are present after it
    let trie = this.trie;
    for (const [key, value] of writes) {
      const [next, hex, v] = applyWrite(trie, key, value, own, (h) => present.get(h) ?? this.values.has(h));
      trie = next;
      changes.push([hex, v]);
      present.set(hex, v !== undefined);
    }
    return new Staged(this, this.version, trie, changes, hashOf(trie, DEPTH));
  }

  /** Whether `adopt(staged)` would succeed: it was staged on this tree and nothing has been written since. */
  canAdopt(staged: StagedTree): boolean {
    return staged instanceof Staged && staged.base === this && staged.version === this.version;
  }

  /**
   * Make a staged tree the live one, in one synchronous step: its trie, its root, and its value changes. Throws,
   * changing nothing, unless it was staged on this tree and nothing has been written to the tree since.
   */
  adopt(staged: StagedTree): Hash {
    if (!this.canAdopt(staged)) throw new SmtError("the tree has changed since this batch was staged (or it was staged on another tree)");
    const { trie, changes, root } = staged as Staged;
    for (const [hex, value] of changes) {
      if (value === undefined) this.values.delete(hex);
      else this.values.set(hex, value); // its own copy, made by stage
    }
    this.trie = trie;
    this.version++;
    return root;
  }

  /**
   * Siblings on the path of `key`, bottom-up; proves its value or its absence. One walk down the trie: a branch's
   * other child is the sibling at its height; below the walk's last node every sibling is a default one, but for
   * the lone key's subtree where a shortcut's key and `key` part.
   */
  prove(key: Uint8Array): SmtProof {
    checkKey(key);
    const out: SmtProof = new Array<Hash | null>(DEPTH).fill(null);
    const sibling = (height: number, h: Hash) => void (out[height] = hashEquals(h, DEFAULTS[height]!) ? null : h);
    let n = this.trie;
    for (let depth = 0; n !== undefined; depth++) {
      if (isShortcut(n)) {
        const part = firstDifference(n.key, key, depth);
        if (part < DEPTH) sibling(DEPTH - 1 - part, lone(n, DEPTH - 1 - part));
        break;
      }
      const side = bit(key, depth);
      const other = n.children[1 - side];
      if (other !== undefined) sibling(DEPTH - 1 - depth, hashOf(other, DEPTH - 1 - depth));
      n = n.children[side];
    }
    return out;
  }

  /** Every entry with a key in [lo, hi] and the hashes that prove there are no others (smt/range.ts). */
  proveRange(lo: Uint8Array, hi: Uint8Array): RangeProof {
    const L = Buffer.from(lo);
    const H = Buffer.from(hi);
    const entries = [...this.values.entries()]
      .map(([hex, value]) => ({ key: Buffer.from(hex, "hex"), value }))
      .filter((e) => Buffer.compare(e.key, L) >= 0 && Buffer.compare(e.key, H) <= 0)
      .sort((a, b) => Buffer.compare(a.key, b.key));
    const outside: (Hash | null)[] = [];
    walkRange(
      lo,
      hi,
      (prefix, depth) => {
        const h = this.node(prefix, DEPTH - depth);
        outside.push(hashEquals(h, DEFAULTS[DEPTH - depth]!) ? null : h);
        return h;
      },
      (prefix, depth) => this.node(prefix, DEPTH - depth),
    );
    return { entries, outside };
  }

  /** Entries in key order (for snapshots and listing). */
  *entries(): IterableIterator<{ key: Buffer; value: Uint8Array }> {
    for (const [hex, value] of this.values) yield { key: Buffer.from(hex, "hex"), value };
  }

  /**
   * Number of non-default nodes of the 256-level tree (a lone key's subtree at depth d has 257 − d of them,
   * counting its leaf); the trie stores only the branches among them and one shortcut per key.
   */
  get storedNodes(): number {
    const count = (n: TrieNode | undefined, depth: number): number => (n === undefined ? 0 : isShortcut(n) ? DEPTH - depth + 1 : 1 + count(n.children[0], depth + 1) + count(n.children[1], depth + 1));
    return count(this.trie, 0);
  }

  /**
   * A batch proof for several keys: siblings that another key's path already determines are left out, so keys
   * sharing a prefix share the upper part of the proof. Order: heights bottom-up, nodes by key within a height.
   */
  proveBatch(keys: readonly Uint8Array[]): SmtProof {
    const out: SmtProof = [];
    walkBatch(keys, (key, height, known) => {
      if (known) return;
      const sib = this.node(siblingKey(key, height), height);
      out.push(hashEquals(sib, DEFAULTS[height]!) ? null : sib);
    });
    return out;
  }
}

/**
 * Visit, for every height, each distinct path node of `keys` and whether its sibling is another path node
 * (`known`). Both the prover and the verifier walk in this order, so the proof needs no positions.
 */
function walkBatch(keys: readonly Uint8Array[], visit: (key: Uint8Array, height: number, known: boolean) => void): void {
  keys.forEach(checkKey);
  let level: Uint8Array[] = [...new Map(keys.map((k) => [Buffer.from(k).toString("hex"), Buffer.from(k)])).values()].sort(Buffer.compare);
  for (let height = 0; height < DEPTH; height++) {
    const ids = new Set(level.map((k) => nodeId(k, height)));
    for (const k of level) visit(k, height, ids.has(nodeId(siblingKey(k, height), height)));
    // One representative key per parent node.
    const parents = new Map<string, Uint8Array>();
    for (const k of level) if (!parents.has(nodeId(k, height + 1))) parents.set(nodeId(k, height + 1), k);
    level = [...parents.values()];
  }
}

/** Root implied by a single-key proof for `value` (`undefined`: the key is absent). */
export function rootFromProof(key: Uint8Array, value: Uint8Array | undefined, proof: SmtProof): Hash {
  checkKey(key);
  if (proof.length !== DEPTH) throw new SmtError(`proof has ${proof.length} siblings; expected ${DEPTH}`);
  let h = value === undefined ? DEFAULTS[0]! : smtLeafHash(key, value);
  proof.forEach((s, height) => {
    const sib = s ?? DEFAULTS[height]!;
    if (sib.length !== 32) throw new SmtError(`sibling at height ${height} is not a 32-byte hash`);
    h = bit(key, DEPTH - 1 - height) === 0 ? nodeHash(h, sib) : nodeHash(sib, h);
  });
  return h;
}

/** Verify inclusion (value given) or exclusion (value undefined) of `key` under `root`. */
export function verifySmtProof(root: Hash, key: Uint8Array, value: Uint8Array | undefined, proof: SmtProof): boolean {
  return hashEquals(rootFromProof(key, value, proof), root);
}

/** Verify a batch proof: every (key, value | undefined) pair against `root`. */
export function verifySmtBatch(root: Hash, entries: readonly [Uint8Array, Uint8Array | undefined][], proof: SmtProof): boolean {
  const implied = rootFromBatch(entries, proof);
  return implied !== null && hashEquals(implied, root);
}

/**
 * Root implied by a batch proof for these (key, value | undefined) pairs, or null when the proof has too few or
 * too many siblings. With the same proof and new values it gives the root after writing them (the siblings are
 * the untouched rest of the tree), which is how a fraud proof re-executes a transition.
 */
export function rootFromBatch(entries: readonly [Uint8Array, Uint8Array | undefined][], proof: SmtProof): Hash | null {
  const hashes = new Map<string, Hash>();
  const byHex = new Map(entries.map(([k, v]) => [Buffer.from(k).toString("hex"), v]));
  if (byHex.size !== entries.length) throw new SmtError("batch has a key twice");
  for (const [k, v] of entries) hashes.set(nodeId(k, 0), v === undefined ? DEFAULTS[0]! : smtLeafHash(k, v));
  let next = 0;
  let ok = true;
  walkBatch(
    entries.map(([k]) => k),
    (key, height, known) => {
      if (!ok) return;
      const self = hashes.get(nodeId(key, height))!;
      let sib: Hash;
      if (known) sib = hashes.get(nodeId(siblingKey(key, height), height))!;
      else {
        if (next >= proof.length) {
          ok = false;
          return;
        }
        sib = proof[next++] ?? DEFAULTS[height]!;
        if (sib.length !== 32) throw new SmtError(`sibling at height ${height} is not a 32-byte hash`);
      }
      const parent = bit(key, DEPTH - 1 - height) === 0 ? nodeHash(self, sib) : nodeHash(sib, self);
      hashes.set(nodeId(key, height + 1), parent);
    },
  );
  if (!ok || next !== proof.length) return null;
  return hashes.get(nodeId(new Uint8Array(KEY_SIZE), DEPTH)) ?? DEFAULTS[DEPTH]!;
}
