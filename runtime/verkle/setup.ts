/**
 * The structured reference string: the Ethereum KZG ceremony's powers of τ (c-kzg-4844 `trusted_setup.txt`,
 * vendored gzip-compressed in ./setup/ with its licence; see setup/README.md). Nobody knows τ as long as one of
 * the ceremony's contributors discarded their share. The file holds 4096 G1 points in Lagrange form over the
 * bit-reversed 4096-th roots of unity, 65 G2 points [τ^i]G2 and 4096 G1 points [τ^i]G1; the tree needs only the
 * width-256 Lagrange basis derived from the first 256 monomial G1 points (setup/lagrange256.txt) and [τ]G2.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { bitReversed, rootsOfUnity } from "./field.js";

export const G1 = bls12_381.G1.Point;
export const G2 = bls12_381.G2.Point;
export type G1Point = ReturnType<typeof G1.fromHex>;
export type G2Point = ReturnType<typeof G2.fromHex>;

const SETUP_FILE = fileURLToPath(new URL("./setup/trusted_setup.txt.gz", import.meta.url));
const N_G1 = 4096;
const N_G2 = 65;

/**
 * Decompress a point of the ceremony file: y = ±sqrt(x³ + 4) by the sign flag, with no subgroup check — the
 * ceremony verified every point, and the check is 5/6 of the cost of G1.fromHex. Points from proofs are
 * always checked (kzg.ts g1FromBytes).
 */
function trustedG1(hex: string): G1Point {
  const b = Buffer.from(hex, "hex");
  const larger = (b[0]! & 0x20) !== 0;
  b[0]! &= 0x1f;
  const x = BigInt(`0x${b.toString("hex")}`);
  const Fp = bls12_381.fields.Fp;
  const y = Fp.sqrt(Fp.add(Fp.mul(Fp.sqr(x), x), 4n));
  return G1.fromAffine({ x, y: y * 2n > Fp.ORDER === larger ? y : Fp.neg(y) });
}

let lines: string[] | undefined;
function setupLines(): string[] {
  if (lines) return lines;
  const text = gunzipSync(readFileSync(SETUP_FILE)).toString("ascii");
  const all = text.split("\n").filter((l) => l.length > 0);
  if (all[0] !== String(N_G1) || all[1] !== String(N_G2) || all.length !== 2 + 2 * N_G1 + N_G2)
    throw new Error(`${SETUP_FILE}: not the c-kzg-4844 trusted setup (expected ${N_G1} G1 and ${N_G2} G2 points)`);
  return (lines = all);
}

/** [τ^i]G1 for i < count. */
export function g1Monomial(count: number): G1Point[] {
  return setupLines()
    .slice(2 + N_G1 + N_G2, 2 + N_G1 + N_G2 + count)
    .map(trustedG1);
}

/** [L_i(τ)]G1 over the 4096-th roots of unity in natural order (c-kzg bit-reverses them when loading). */
function g1Lagrange4096(): G1Point[] {
  return setupLines()
    .slice(2, 2 + N_G1)
    .map(trustedG1);
}

let tau: G2Point | undefined;
/** [τ]G2: the verifier's only secret-derived point. */
export function tauG2(): G2Point {
  return (tau ??= G2.fromHex(setupLines()[2 + N_G1 + 1]!));
}

/** An evaluation domain and its Lagrange basis commitments: vectors are committed as Σ v_i·[L_i(τ)]G1. */
export interface Domain {
  readonly n: number;
  readonly roots: readonly bigint[];
  readonly lagrange: readonly G1Point[];
  readonly indexOf: ReadonlyMap<bigint, number>;
}

function domainOf(roots: bigint[], lagrange: G1Point[]): Domain {
  return { n: roots.length, roots, lagrange, indexOf: new Map(roots.map((r, i) => [r, i])) };
}

/** The tree's width. */
export const WIDTH = 256;
const BASIS_FILE = fileURLToPath(new URL("./setup/lagrange256.txt", import.meta.url));

let verkle: Domain | undefined;
/**
 * The width-256 domain: natural-order 256-th roots of unity with the basis vendored in setup/lagrange256.txt
 * (setup/README.md says how it is derived from the ceremony's [τ^k]G1; test/runtime/verkle/setup.test.ts checks it
 * against them). Read as affine coordinates without checks: it is our own file, and skipping 256 point
 * decompressions keeps a CLI call fast.
 */
export function verkleDomain(): Domain {
  if (verkle) return verkle;
  const lagrange = readFileSync(BASIS_FILE, "ascii")
    .trim()
    .split("\n")
    .map((line) => {
      const [x, y] = line.split(" ");
      return G1.fromAffine({ x: BigInt(`0x${x}`), y: BigInt(`0x${y}`) });
    });
  if (lagrange.length !== WIDTH) throw new Error(`${BASIS_FILE}: expected ${WIDTH} points, found ${lagrange.length}`);
  return (verkle = domainOf(rootsOfUnity(WIDTH), lagrange));
}

let window = 0;
/**
 * Build window tables for the 256 basis points so that a scalar multiplication of a basis point costs ~0.4 ms
 * instead of ~5: worth it when a tree commits thousands of nodes. Window 6: ~6 s of CPU once, ~100 MB; window 8
 * (for 10^5 keys and more): ~16 s, ~400 MB, each multiplication ~15% cheaper. A wider window replaces a narrower one.
 */
export function precomputeBasis(bits = 6): void {
  if (bits <= window) return;
  for (const p of verkleDomain().lagrange) p.precompute(bits, false);
  window = bits;
}

/** Whether precomputeBasis() has run: commitments of up to a few dozen terms then multiply point by point. */
export const basisPrecomputed = () => window > 0;

/** EIP-4844's domain (4096 bit-reversed roots, the file's own Lagrange points): for known-answer tests. */
export function eip4844Domain(): Domain {
  return domainOf(bitReversed(rootsOfUnity(N_G1)), bitReversed(g1Lagrange4096()));
}
