/**
 * A 256-level sparse Merkle tree over 32-byte keys with the default-hash optimisation: an empty subtree of
 * height h has the precomputed hash DEFAULT[h], so only nodes on paths to present keys are stored (O(k·256)
 * for k keys, not 2^256) and proofs mark default siblings with one bit instead of a hash.
 *
 *   leaf      = SHA-256(0x00 ‖ key ‖ SHA-256(value))      empty leaf = DEFAULT[0] = 32 zero bytes
 *   node      = SHA-256(0x01 ‖ left ‖ right)              DEFAULT[h+1] = node(DEFAULT[h], DEFAULT[h])
 * The key's bits, most significant first, choose the path from the root (bit 0 = left at the top).
 * Proofs prove inclusion (key → value) and exclusion (key absent) alike: exclusion is inclusion of the empty leaf.
 */
import { type Hash, hashEquals, nodeHash } from "../rfc6962.js";
import { bit, DEFAULTS, DEPTH, KEY_SIZE, SmtError, smtLeafHash } from "./hashing.js";
import { walkRange, type RangeProof } from "./range.js";

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

export class SparseMerkleTree {
  private readonly nodes = new Map<string, Hash>();
  private readonly values = new Map<string, Uint8Array>();

  private node(key: Uint8Array, height: number): Hash {
    return this.nodes.get(nodeId(key, height)) ?? DEFAULTS[height]!;
  }

  root(): Hash {
    return this.nodes.get(nodeId(new Uint8Array(KEY_SIZE), DEPTH)) ?? DEFAULTS[DEPTH]!;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    return this.values.get(Buffer.from(key).toString("hex"));
  }

  /** Set (or with `undefined`, delete) a key's value; recomputes the 256 hashes on its path. */
  set(key: Uint8Array, value: Uint8Array | undefined): Hash {
    checkKey(key);
    const hex = Buffer.from(key).toString("hex");
    if (value === undefined) this.values.delete(hex);
    else this.values.set(hex, Buffer.from(value));
    let h = value === undefined ? DEFAULTS[0]! : smtLeafHash(key, value);
    for (let height = 0; height <= DEPTH; height++) {
      const id = nodeId(key, height);
      // Default nodes are never stored: that is the whole space saving.
      if (hashEquals(h, DEFAULTS[height]!)) this.nodes.delete(id);
      else this.nodes.set(id, h);
      if (height === DEPTH) break;
      const sib = this.node(siblingKey(key, height), height);
      h = bit(key, DEPTH - 1 - height) === 0 ? nodeHash(h, sib) : nodeHash(sib, h);
    }
    return this.root();
  }

  /** Siblings on the path of `key`, bottom-up; proves its value or its absence. */
  prove(key: Uint8Array): SmtProof {
    checkKey(key);
    const out: SmtProof = [];
    for (let height = 0; height < DEPTH; height++) {
      const sib = this.node(siblingKey(key, height), height);
      out.push(hashEquals(sib, DEFAULTS[height]!) ? null : sib);
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

  /** Number of stored (non-default) nodes. */
  get storedNodes(): number {
    return this.nodes.size;
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
