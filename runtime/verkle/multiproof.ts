/**
 * One proof for many openings (Dankrad Feist's "PCS multiproofs using random evaluation", as in the Verkle-trie
 * proposals): openings f_i(z_i) = y_i of committed vectors are folded with powers of a Fiat–Shamir challenge r
 * into g(X) = Σ r^i·(f_i(X) − y_i)/(X − z_i), committed as D; at a second challenge t the prover opens
 * h(X) − g(X), h(X) = Σ r^i·f_i(X)/(t − z_i), whose commitment the verifier forms itself from the C_i and D.
 * The proof is two G1 points (96 bytes) whatever the number of openings; the verifier does one MSM over the
 * distinct commitments and one two-pairing check. Every z_i here is a domain point (a child index).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { Fr, hashToField, scalarToBytes } from "./field.js";
import { commit, quotient, verifyOpening } from "./kzg.js";
import { pippenger } from "@noble/curves/abstract/curve.js";
import { G1, type Domain, type G1Point } from "./setup.js";

/** What the verifier knows of one opening: the commitment (compressed, as in the transcript), the index, the value. */
export interface Query {
  commitment: Uint8Array;
  index: number;
  value: bigint;
}

export interface MultiProof {
  d: G1Point;
  pi: G1Point;
}

/** r binds every query (and so every commitment and value); t binds r and D. */
function challengeR(queries: readonly Query[]): bigint {
  const h = sha256.create();
  for (const q of queries) h.update(q.commitment).update(Uint8Array.of(q.index)).update(scalarToBytes(q.value));
  return hashToField("multiproof-r", h.digest());
}

const challengeT = (r: bigint, d: G1Point) => hashToField("multiproof-t", scalarToBytes(r), d.toBytes());

function powers(r: bigint, n: number): bigint[] {
  const out = [Fr.ONE];
  for (let i = 1; i < n; i++) out.push(Fr.mul(out[i - 1]!, r));
  return out;
}

/** Prove all `queries`; evals[i] is the committed vector of queries[i] (vectors may repeat across queries). */
export function proveMulti(domain: Domain, queries: readonly Query[], evals: readonly (readonly bigint[])[]): MultiProof {
  const r = challengeR(queries);
  const rs = powers(r, queries.length);
  // g = Σ_z (Σ_{i: z_i = z} r^i (f_i − y_i)) / (X − ω_z): one in-domain division per distinct index.
  const byIndex = new Map<number, bigint[]>();
  queries.forEach((q, i) => {
    const acc = byIndex.get(q.index) ?? new Array<bigint>(domain.n).fill(Fr.ZERO);
    const f = evals[i]!;
    for (let j = 0; j < domain.n; j++) if (f[j] !== 0n || q.value !== 0n) acc[j] = Fr.add(acc[j]!, Fr.mul(rs[i]!, Fr.sub(f[j]!, q.value)));
    byIndex.set(q.index, acc);
  });
  const g = new Array<bigint>(domain.n).fill(Fr.ZERO);
  for (const [index, acc] of byIndex) {
    const q = quotient(domain, acc, domain.roots[index]!, Fr.ZERO);
    for (let j = 0; j < domain.n; j++) g[j] = Fr.add(g[j]!, q[j]!);
  }
  const d = commit(domain, g);
  const t = challengeT(r, d);
  // h − g at t: h = Σ r^i/(t − ω_{z_i})·f_i, and its value there is Σ r^i·y_i/(t − ω_{z_i}).
  const coeff = Fr.invertBatch(queries.map((q) => Fr.sub(t, domain.roots[q.index]!))).map((x, i) => Fr.mul(x, rs[i]!));
  const p = g.map((gj) => Fr.neg(gj));
  let y = Fr.ZERO;
  queries.forEach((q, i) => {
    const f = evals[i]!;
    for (let j = 0; j < domain.n; j++) if (f[j] !== 0n) p[j] = Fr.add(p[j]!, Fr.mul(coeff[i]!, f[j]!));
    y = Fr.add(y, Fr.mul(coeff[i]!, q.value));
  });
  return { d, pi: commit(domain, quotient(domain, p, t, y)) };
}

/**
 * Check `proof` for `queries`, the commitments already decoded (points[i] for queries[i]). The caller derives every
 * value from what it trusts (the root and the claimed entries), so a true result binds them all.
 */
export function verifyMulti(domain: Domain, queries: readonly Query[], points: readonly G1Point[], proof: MultiProof): boolean {
  const r = challengeR(queries);
  const rs = powers(r, queries.length);
  const t = challengeT(r, proof.d);
  const coeff = Fr.invertBatch(queries.map((q) => Fr.sub(t, domain.roots[q.index]!))).map((x, i) => Fr.mul(x, rs[i]!));
  // E = Σ coeff_i·C_i, one term per distinct commitment.
  const byCommitment = new Map<string, { point: G1Point; scalar: bigint }>();
  let y = Fr.ZERO;
  queries.forEach((q, i) => {
    const id = Buffer.from(q.commitment).toString("hex");
    const e = byCommitment.get(id) ?? { point: points[i]!, scalar: Fr.ZERO };
    e.scalar = Fr.add(e.scalar, coeff[i]!);
    byCommitment.set(id, e);
    y = Fr.add(y, Fr.mul(coeff[i]!, q.value));
  });
  const terms = [...byCommitment.values()];
  const e = pippenger(
    G1,
    terms.map((x) => x.point),
    terms.map((x) => x.scalar),
  );
  return verifyOpening(e.subtract(proof.d), t, y, proof.pi);
}
