/**
 * Tree nodes and what they commit to. Keys are 32 bytes: a 31-byte stem and a 1-byte suffix (EIP-6800's split).
 * A leaf holds one stem's up-to-256 values and commits to the vector of their hashes in Fr (0 = no value). An
 * inner node commits to the vector of its 256 children, each mapped into Fr by hashing its commitment — a leaf
 * together with its stem, so that the parent binds which stem hangs there. A leaf sits at the shallowest depth
 * where its stem's prefix is unique, so the tree (and root) depends only on the contents.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { Fr, hashToField } from "./field.js";
import { commitSparse } from "./kzg.js";
import { normalizeZ } from "@noble/curves/abstract/curve.js";
import { G1, WIDTH, type Domain, type G1Point } from "./setup.js";

export const STEM_BYTES = 31;
export const KEY_BYTES = 32;

export interface Committed {
  point: G1Point;
  bytes: Uint8Array;
  /** This node's entry in its parent's vector. */
  field: bigint;
}

export interface Leaf {
  kind: "leaf";
  stem: Uint8Array;
  values: Map<number, Uint8Array>;
  c?: Committed;
}

export interface Inner {
  kind: "inner";
  children: (TreeNode | undefined)[];
  c?: Committed;
}

export type TreeNode = Leaf | Inner;

export const newInner = (): Inner => ({ kind: "inner", children: new Array<TreeNode | undefined>(WIDTH) });

/** The Fr element a value commits as (never 0 but with negligible probability; 0 means "no value"). */
export const valueField = (value: Uint8Array) => hashToField("value", value);
export const innerField = (commitment: Uint8Array) => hashToField("inner", commitment);
export const leafField = (stem: Uint8Array, commitment: Uint8Array) => hashToField("leaf", stem, commitment);

/** The committed vector of a node whose children are already committed. */
export function evalsOf(node: TreeNode): bigint[] {
  const out = new Array<bigint>(WIDTH).fill(Fr.ZERO);
  for (const [i, v] of termsOf(node)) out[i] = v;
  return out;
}

/** The vector's non-zero entries as [index, value]: a leaf of one stem usually has a handful of its 256 slots set. */
function termsOf(node: TreeNode): [number, bigint][] {
  if (node.kind === "leaf") return [...node.values].map(([suffix, v]) => [suffix, valueField(v)]);
  const out: [number, bigint][] = [];
  node.children.forEach((child, i) => child && out.push([i, child.c!.field]));
  return out;
}

const Fp = bls12_381.fields.Fp;
const HALF_P = Fp.ORDER >> 1n;

/**
 * The 48-byte compressed encoding (ZCash's: x big-endian, flags 0x80 compressed, 0x40 infinity, 0x20 "y is the
 * larger root") of a point whose Z is already 1. G1.toBytes() encodes the same bytes but first re-checks that the
 * point is in the subgroup (~1 ms, more than the commitment itself); a sum of multiples of the checked basis
 * points is in it by construction.
 */
export function compressNormalized(p: G1Point): Uint8Array {
  if (p.is0()) return Uint8Array.of(0xc0, ...new Uint8Array(47));
  const { x, y } = p.toAffine();
  const out = Uint8Array.from(Buffer.from(x.toString(16).padStart(96, "0"), "hex"));
  out[0]! |= y > HALF_P ? 0xa0 : 0x80;
  return out;
}

/**
 * Commit every node lacking a commitment, deepest first, one batch per depth: the batch shares one field
 * inversion to bring its points to affine form before they are serialized and hashed.
 */
export function commitTree(domain: Domain, root: Inner): void {
  const byDepth: TreeNode[][] = [];
  const visit = (node: TreeNode, depth: number) => {
    if (node.c) return;
    (byDepth[depth] ??= []).push(node);
    if (node.kind === "inner") for (const child of node.children) if (child) visit(child, depth + 1);
  };
  visit(root, 0);
  for (let depth = byDepth.length - 1; depth >= 0; depth--) {
    const nodes = byDepth[depth] ?? [];
    const points = normalizeZ(
      G1,
      nodes.map((n) => commitSparse(domain, termsOf(n))),
    );
    nodes.forEach((n, i) => {
      const bytes = compressNormalized(points[i]!);
      n.c = { point: points[i]!, bytes, field: n.kind === "leaf" ? leafField(n.stem, bytes) : innerField(bytes) };
    });
  }
}
