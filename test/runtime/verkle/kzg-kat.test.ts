/**
 * The KZG primitive against the reference: the consensus-spec / c-kzg-4844 test vectors (vendored in
 * test/testdata/c-kzg-4844, see its README). verify_kzg_proof cases (true, false, or null = malformed input) run
 * through verifyKzgProof; blob_to_kzg_commitment and compute_kzg_proof run our evaluation-form commit and open
 * over EIP-4844's 4096-point domain, with the ceremony file's own Lagrange points.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { verifyKzgProof } from "../../../runtime/verkle/index.js";
import { commit, open, verifyOpening } from "../../../runtime/verkle/kzg.js";
import { eip4844Domain, G1 } from "../../../runtime/verkle/setup.js";

const DIR = "test/testdata/c-kzg-4844";
const bytes = (s: string) => Uint8Array.from(Buffer.from(s.slice(2), "hex"));
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

describe("verify_kzg_proof reference vectors", () => {
  const files = readdirSync(`${DIR}/verify_kzg_proof`).filter((f) => f.endsWith(".yaml"));
  it("vendors cases of every kind", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    const outputs = files.map((f) => (parse(readFileSync(`${DIR}/verify_kzg_proof/${f}`, "utf8")) as { output: boolean | null }).output);
    expect(new Set(outputs)).toEqual(new Set([true, false, null]));
  });
  it.each(files)("%s", (f) => {
    const c = parse(readFileSync(`${DIR}/verify_kzg_proof/${f}`, "utf8")) as { input: Record<string, string>; output: boolean | null };
    const run = () => verifyKzgProof(bytes(c.input.commitment!), bytes(c.input.z!), bytes(c.input.y!), bytes(c.input.proof!));
    if (c.output === null) expect(run).toThrow(/commitment|proof|z |y /);
    else expect(run()).toBe(c.output);
  });
});

describe("blob_to_kzg_commitment and compute_kzg_proof over EIP-4844's domain", () => {
  let domain: ReturnType<typeof eip4844Domain>;
  beforeAll(() => void (domain = eip4844Domain()));
  const blobCase = (n: number) => parse(gunzipSync(readFileSync(`${DIR}/blob_to_kzg_commitment_valid_blob_${n}.yaml.gz`)).toString()) as { input: { blob: string }; output: string };
  const evals = (blob: string) => {
    const b = bytes(blob);
    return Array.from({ length: 4096 }, (_, i) => BigInt(hex(b.subarray(32 * i, 32 * i + 32))));
  };

  it("commits blobs to the reference commitments", () => {
    for (const n of [2, 6]) {
      const c = blobCase(n);
      expect(hex(commit(domain, evals(c.input.blob)).toBytes())).toBe(c.output);
    }
  });

  it("opens a random blob to the reference y and proof, inside and outside the domain, and the proof verifies", () => {
    const blob = evals(blobCase(2).input.blob);
    const commitment = G1.fromHex(blobCase(2).output.slice(2));
    const cases = parse(readFileSync(`${DIR}/compute_kzg_proof_valid_blob_2.yaml`, "utf8")) as Record<string, { input: { z: string }; output: [string, string] }>;
    // z = 1 is ω^0 (inside the domain: the L'Hôpital entry of the quotient); z = 0x5eb7… is outside.
    for (const name of ["compute_kzg_proof_case_valid_blob_2_1", "compute_kzg_proof_case_valid_blob_2_3"]) {
      const { input, output } = cases[name]!;
      const z = BigInt(input.z);
      const { y, proof } = open(domain, blob, z);
      expect(hex(proof.toBytes())).toBe(output[0]);
      expect(y).toBe(BigInt(output[1]));
      expect(verifyOpening(commitment, z, y, proof)).toBe(true);
      expect(verifyOpening(commitment, z, y + 1n, proof)).toBe(false);
    }
  });
});
