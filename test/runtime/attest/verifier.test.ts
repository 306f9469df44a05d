// verifyAttestation with the file nonce book (what `meridian attest verify --state` runs), in-process, on quotes from a
// real software TPM (swtpm + tpm2-tools, as an operator runs them): an ECDSA AK's quote and a plain-format signature
// are accepted; an unknown or mismatched nonce, a wrong PCR value (reference or tampered values file) and a quote
// from another key are refused, and tpm2_checkquote agrees on the same files. test/cli/attest.test.ts runs the
// command's exit codes and output.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileNonceBook, verifyAttestation, type ReferenceValues } from "../../../runtime/attest/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { createAk, measureNode, MEASURED_PCR16, quote, startSoftwareTpm, ZERO_PCR, type QuoteFiles, type SoftwareTpm } from "./swtpm.js";

let tpm: SoftwareTpm;
let rsa: { ctx: string; pem: string };
let ecc: { ctx: string; pem: string };
let state: string;
let reference: string;
const [PCR16, ZERO] = [MEASURED_PCR16, ZERO_PCR];

beforeAll(async () => {
  tpm = await startSoftwareTpm();
  rsa = createAk(tpm, "ak", "rsa");
  ecc = createAk(tpm, "ak-ecc", "ecc");
  state = join(tpm.dir, "verifier-state");
  reference = measureNode(tpm);
});
afterAll(() => tpm?.stop());

const signerKey = generateKey("meridian-attest-test").signerKey;
const book = () => new FileNonceBook(state, systemClock);
const nonce = () => book().issue(300_000).nonce;

async function verify(q: QuoteFiles, n: string, o: { ak?: string; reference?: string } = {}) {
  const evidence = { message: readFileSync(q.message), signature: readFileSync(q.signature), pcrs: readFileSync(q.pcrs) };
  const ref = JSON.parse(readFileSync(o.reference ?? reference, "utf8")) as ReferenceValues;
  return (await verifyAttestation({ evidence, ak: readFileSync(o.ak ?? rsa.pem, "utf8"), nonce: n, reference: ref }, { nonces: book(), signerKey, clock: systemClock })).result;
}

const checkquote = (q: QuoteFiles, pem: string, n: string) => tpm.try("tpm2_checkquote", ["-u", pem, "-m", q.message, "-s", q.signature, "-f", q.pcrs, "-g", "sha256", "-q", n]).status;

describe("verifyAttestation with the file nonce book and swtpm", () => {
  it("accepts an ECDSA AK's quote and a plain-format signature", async () => {
    const n = nonce();
    const q = quote(tpm, ecc.ctx, n, "ecc");
    const r = await verify(q, n, { ak: ecc.pem });
    expect(r.accepted, r.reason).toBe(true);
    expect(r.signatureScheme).toBe("ecdsa-sha256");
    expect(checkquote(q, ecc.pem, n)).toBe(0);
    const n2 = nonce();
    const plain = quote(tpm, rsa.ctx, n2, "plain", ["-f", "plain"]);
    const p = await verify(plain, n2);
    expect(p.accepted, p.reason).toBe(true);
    expect(p.signatureScheme).toBe("rsassa-sha256 (plain)");
  });

  it("refuses a nonce it never issued, and a quote over another nonce than the one presented", async () => {
    const forged = randomBytes(32).toString("hex");
    const r = await verify(quote(tpm, rsa.ctx, forged, "forged"), forged);
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/^freshness: nonce [0-9a-f]+ was not issued by this verifier/);
    const [a, b] = [nonce(), nonce()];
    const m = await verify(quote(tpm, rsa.ctx, a, "mismatch"), b);
    expect(m.accepted).toBe(false);
    expect(m.reason).toMatch(/^nonce: extraData [0-9a-f]+ is not the nonce/);
  });

  it("refuses a PCR value that differs from the reference", async () => {
    const n = nonce();
    const q = quote(tpm, rsa.ctx, n, "wrong-ref");
    const other = join(tpm.dir, "other-reference.json");
    writeFileSync(other, JSON.stringify({ sha256: { "0": ZERO, "16": "ab".repeat(32) } }));
    const r = await verify(q, n, { reference: other });
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/^reference: sha256 PCR 16 is [0-9a-f]{64}; the reference is (ab){32}/);
    expect(checkquote(q, rsa.pem, n)).toBe(0); // the quote itself is genuine: only the platform state is wrong
  });

  it("refuses a tampered PCR values file, as tpm2_checkquote does", async () => {
    const n = nonce();
    const q = quote(tpm, rsa.ctx, n, "tampered");
    const bytes = readFileSync(q.pcrs);
    const at = bytes.indexOf(Buffer.from(PCR16, "hex"));
    expect(at).toBeGreaterThan(0);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(q.pcrs, bytes);
    const r = await verify(q, n);
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/^pcrDigest: the PCR values hash to/);
    expect(checkquote(q, rsa.pem, n)).not.toBe(0);
  });

  it("refuses a quote signed by another key than the AK presented, as tpm2_checkquote does", async () => {
    const n = nonce();
    const q = quote(tpm, ecc.ctx, n, "other-key");
    const r = await verify(q, n, { ak: rsa.pem });
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/^signature: the ecdsa-sha256 signature does not verify with the attestation key/);
    expect(checkquote(q, rsa.pem, n)).not.toBe(0);
  });
});
