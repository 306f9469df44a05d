// `meridian attest nonce|verify|key|reference` against a real software TPM (swtpm + tpm2-tools, as an operator runs
// them): a genuine quote with the verifier's nonce is accepted (exit 0, the signed result) and tpm2_checkquote agrees;
// the replayed quote is refused (exit 1, the reason on stderr); usage mistakes exit 2; AMD's SEV-SNP sample goes through
// `attest appraise --format sev-snp`. The other TPM refusals (unknown or mismatched nonce, wrong PCR value, tampered
// values file, another key) and the ECDSA and plain-signature quotes are test/runtime/attest/verifier.test.ts,
// in-process on the same kind of swtpm quotes and nonce state.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCliInProcess } from "../cli-in-process.js";
import { openResult, type AttestationResult } from "../../runtime/attest/index.js";
import { createAk, measureNode, MEASURED_PCR16, quote, startSoftwareTpm, ZERO_PCR, type QuoteFiles, type SoftwareTpm } from "../runtime/attest/swtpm.js";

let tpm: SoftwareTpm;
let rsa: { ctx: string; pem: string };
let state: string;
let reference: string;
const [PCR16, ZERO] = [MEASURED_PCR16, ZERO_PCR];

beforeAll(async () => {
  tpm = await startSoftwareTpm();
  rsa = createAk(tpm, "ak", "rsa");
  state = join(tpm.dir, "verifier-state");
  reference = measureNode(tpm);
});
afterAll(() => tpm?.stop());

async function nonce(): Promise<string> {
  const r = await runCliInProcess(["attest", "nonce", "--state", state]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  return r.stdout.trim();
}

async function verify(q: QuoteFiles, n: string, o: { ak?: string; reference?: string } = {}) {
  const r = await runCliInProcess([
    "attest",
    "verify",
    "--ak",
    o.ak ?? rsa.pem,
    "--message",
    q.message,
    "--signature",
    q.signature,
    "--pcrs",
    q.pcrs,
    "--nonce",
    n,
    "--reference",
    o.reference ?? reference,
    "--state",
    state,
  ]);
  const out = r.stdout ? (JSON.parse(r.stdout) as AttestationResult & { signedResult: string }) : undefined;
  return { ...r, out };
}

const checkquote = (q: QuoteFiles, pem: string, n: string) => tpm.try("tpm2_checkquote", ["-u", pem, "-m", q.message, "-s", q.signature, "-f", q.pcrs, "-g", "sha256", "-q", n]).status;

describe("meridian attest with swtpm", () => {
  it("accepts a genuine quote with the verifier's nonce, signs the result, and tpm2_checkquote agrees", async () => {
    const n = await nonce();
    const q = quote(tpm, rsa.ctx, n, "genuine");
    const r = await verify(q, n);
    expect(r.status, r.stderr).toBe(0);
    expect(r.out).toMatchObject({ accepted: true, status: "affirming", nonce: n, signatureScheme: "rsassa-sha256", freshness: { ok: true } });
    expect(r.out!.pcrs).toEqual({ sha256: { "0": ZERO, "1": ZERO, "2": ZERO, "16": PCR16 } });
    expect(r.out!.checks.every((c) => c.ok)).toBe(true);
    expect(checkquote(q, rsa.pem, n)).toBe(0);
    // The relying party verifies the signed result with the verifier key alone.
    const vkey = (await runCliInProcess(["attest", "key", "--state", state])).stdout.trim();
    expect(openResult(r.out!.signedResult, vkey)).toMatchObject({ accepted: true, nonce: n });
    // The reference an operator takes from a known-good node's quote is the one this test derived.
    const ref = await runCliInProcess(["attest", "reference", "--pcrs", q.pcrs]);
    expect(JSON.parse(ref.stdout)).toEqual(JSON.parse(readFileSync(reference, "utf8")));
    // Replayed: the same quote and nonce a second time.
    const again = await verify(q, n);
    expect(again.status).toBe(1);
    expect(again.out).toMatchObject({ accepted: false, status: "contraindicated", freshness: { ok: false } });
    expect(again.stderr).toMatch(/refused: freshness: nonce [0-9a-f]+ was already used/);
  });

  it("names the input on a usage mistake (exit 2)", async () => {
    const q = { message: join(tpm.dir, "genuine.msg"), signature: join(tpm.dir, "genuine.sig"), pcrs: join(tpm.dir, "genuine.pcrs") };
    // Each mistake is caught before the nonce is looked at: any 32 bytes of hex do.
    const unissued = randomBytes(32).toString("hex");
    expect(await verify({ ...q, pcrs: join(tpm.dir, "missing.pcrs") }, unissued)).toMatchObject({ status: 2, stderr: expect.stringMatching(/--pcrs .*missing\.pcrs: no such file/) });
    expect(await verify(q, "not-hex")).toMatchObject({ status: 2, stderr: expect.stringMatching(/--nonce: got "not-hex"; expected hex/) });
    writeFileSync(join(tpm.dir, "empty-ref.json"), JSON.stringify({ sha256: {} }));
    expect(await verify(q, unissued, { reference: join(tpm.dir, "empty-ref.json") })).toMatchObject({ status: 2, stderr: expect.stringMatching(/--reference .*names no PCR/) });
  });

  it("appraises the published Nitro Enclaves sample with --format nitro --at its own time: accepted; today, or with a flipped payload byte, refused (exit 1)", async () => {
    const sample = (f: string) => new URL(`../testdata/nitro/${f}`, import.meta.url).pathname;
    const args = (document: string, at?: string) => [
      "attest",
      "appraise",
      "--format",
      "nitro",
      "--root",
      sample("root.pem"),
      "--document",
      document,
      "--reference",
      sample("reference.json"),
      "--report-data",
      "01".repeat(1024),
      ...(at ? ["--at", at] : []),
    ];
    const ok = await runCliInProcess(args(sample("attestation.cbor"), "2024-09-07T14:37:40Z"));
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      accepted: true,
      format: "nitro",
      appraisedAt: "2024-09-07T14:37:40.000Z",
      claims: { nitro: { moduleId: "i-0a22e5c5f24d22174-enc0191cceb4289903f" } },
    });
    expect(await runCliInProcess(args(sample("attestation.cbor")))).toMatchObject({ status: 1, stderr: expect.stringMatching(/refused: validity: .* is valid .*, not at /) });
    const bad = readFileSync(sample("attestation.cbor"));
    bad[bad.indexOf("i-0a22e5c5f24d22174-enc")]! ^= 1; // module_id's first byte
    writeFileSync(join(tpm.dir, "nitro-bad.cbor"), bad);
    expect(await runCliInProcess(args(join(tpm.dir, "nitro-bad.cbor"), "2024-09-07T14:37:40Z"))).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/refused: signature: the COSE_Sign1 ES384 signature does not verify/),
    });
    expect(await runCliInProcess(args(sample("attestation.cbor"), "yesterday"))).toMatchObject({ status: 2, stderr: expect.stringMatching(/--at: got "yesterday"/) });
  });

  it("appraises AMD's published SEV-SNP sample with --format sev-snp: accepted as is, a flipped report byte refused (exit 1)", async () => {
    const sample = (f: string) => new URL(`../testdata/sev-snp/${f}`, import.meta.url).pathname;
    const ref = join(tpm.dir, "snp-ref.json");
    writeFileSync(ref, JSON.stringify({ measurement: "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01", allowDebug: true }));
    const args = (report: string) => [
      "attest",
      "appraise",
      "--format",
      "sev-snp",
      "--root",
      sample("ask_ark_milan.pem"),
      "--report",
      report,
      "--vcek",
      sample("vcek.testcer"),
      "--chain",
      sample("ask_ark_milan.pem"),
      "--reference",
      ref,
      "--report-data",
      "0102030405",
    ];
    const ok = await runCliInProcess(args(sample("attestation.bin")));
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ accepted: true, format: "sev-snp", claims: { snp: { reportData: "0102030405".padEnd(128, "0") } } });
    const bad = readFileSync(sample("attestation.bin"));
    bad[0x90]! ^= 1; // the MEASUREMENT's first byte
    writeFileSync(join(tpm.dir, "snp-bad.bin"), bad);
    expect(await runCliInProcess(args(join(tpm.dir, "snp-bad.bin")))).toMatchObject({
      status: 1,
      stderr: expect.stringMatching(/refused: signature: the report's ECDSA P-384 signature does not verify with the VCEK/),
    });
    expect(await runCliInProcess(["attest", "verify", "--format", "sev-snp", "--report", sample("attestation.bin"), "--reference", ref, "--nonce", "00"])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/--format sev-snp needs --root, --vcek, --chain/),
    });
  });
});
