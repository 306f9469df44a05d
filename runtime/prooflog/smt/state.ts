/**
 * A verifiable key-value state on the sparse Merkle tree: string keys (hashed to 32-byte tree keys, so the tree
 * stays balanced whatever the key distribution) and byte values. Whoever holds only the root can check a read
 * (value or absence) and compute the root after a write from the same proof — the shape escrow balances need: a
 * holder proves its balance, and anyone can check that a transfer moved the root from R to R'.
 */
import { hash } from "node:crypto";
import type { Hash } from "../rfc6962.js";
import { rootFromProof, SparseMerkleTree, verifySmtBatch, verifySmtProof, type SmtProof } from "./smt.js";

const stateKey = (key: string): Buffer => hash("sha256", Buffer.from(key, "utf8"), "buffer");

export interface StateRead {
  key: string;
  value: Uint8Array | undefined;
  root: Hash;
  proof: SmtProof;
}

export class VerifiableState {
  private readonly tree = new SparseMerkleTree();

  root(): Hash {
    return this.tree.root();
  }

  get(key: string): Uint8Array | undefined {
    return this.tree.get(stateKey(key));
  }

  /** Set a value (`undefined` deletes); returns the new root. */
  set(key: string, value: Uint8Array | undefined): Hash {
    return this.tree.set(stateKey(key), value);
  }

  /** Apply several writes; returns the root after all of them. */
  apply(writes: readonly [string, Uint8Array | undefined][]): Hash {
    return this.tree.setMany(writes.map(([k, v]) => [stateKey(k), v] as const));
  }

  /** A read with its proof (inclusion if present, exclusion if absent). */
  read(key: string): StateRead {
    const k = stateKey(key);
    return { key, value: this.tree.get(k), root: this.tree.root(), proof: this.tree.prove(k) };
  }

  /** Reads of several keys with one batch proof sharing their common path nodes. */
  readBatch(keys: readonly string[]): { values: (Uint8Array | undefined)[]; root: Hash; proof: SmtProof } {
    const ks = keys.map(stateKey);
    return { values: ks.map((k) => this.tree.get(k)), root: this.tree.root(), proof: this.tree.proveBatch(ks) };
  }
}

export function verifyRead(root: Hash, key: string, value: Uint8Array | undefined, proof: SmtProof): boolean {
  return verifySmtProof(root, stateKey(key), value, proof);
}

export function verifyReadBatch(root: Hash, keys: readonly string[], values: readonly (Uint8Array | undefined)[], proof: SmtProof): boolean {
  return verifySmtBatch(
    root,
    keys.map((k, i) => [stateKey(k), values[i]] as [Uint8Array, Uint8Array | undefined]),
    proof,
  );
}

/**
 * Check a write against a trusted root: `proof` must prove `oldValue` for `key` under `oldRoot`; returns the root
 * after writing `newValue`, computed from the same siblings (the rest of the tree is unchanged by definition).
 */
export function verifyWrite(oldRoot: Hash, key: string, oldValue: Uint8Array | undefined, newValue: Uint8Array | undefined, proof: SmtProof): Hash | null {
  const k = stateKey(key);
  if (!verifySmtProof(oldRoot, k, oldValue, proof)) return null;
  return rootFromProof(k, newValue, proof);
}
