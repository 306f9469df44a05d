// SEV-SNP evidence on AMD's published sample (test/testdata/sev-snp, from google/go-sev-guest): the genuine
// report with its VCEK and AMD's Milan chain is accepted and its measured fields extracted; a flipped byte in
// the report, its signature or a certificate is refused naming the check; another product's root (Genoa) and
// a time outside the certificates' validity are refused; the verifier signs and the service serves the format.
import { describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { ManualClock } from "../../../runtime/common/clock.js";
import { evidenceFormat, NonceBook, parseSnpReport, sevSnpFormat, verifyAttestation, type NonceStore } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";

const data = (f: string) => readFileSync(new URL(`../../testdata/sev-snp/${f}`, import.meta.url));
const MEASUREMENT = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";
const REPORT_DATA = Buffer.from("0102030405", "hex");
const NOW = Date.parse("2026-12-03T12:00:00Z");
const MILAN = sevSnpFormat.endorsement(data("ask_ark_milan.pem").toString());
const REF = sevSnpFormat.reference.parse({ measurement: MEASUREMENT, allowDebug: true });
const evidence = () => ({ report: data("attestation.bin"), vcek: data("vcek.testcer"), chain: data("ask_ark_milan.pem") });
const appraise = (over: Partial<Parameters<typeof sevSnpFormat.appraise>[0]> = {}) =>
  sevSnpFormat.appraise({ evidence: evidence(), endorsement: MILAN, nonce: REPORT_DATA, reference: REF, now: NOW, ...over });
const flip = (b: Buffer, at: number) => {
  const c = Buffer.from(b);
  c[at]! ^= 0x01;
  return c;
};

describe("AMD SEV-SNP attestation reports (AMD's published sample)", () => {
  it("parses the 1184-byte report's fields", () => {
    const r = parseSnpReport(data("attestation.bin"));
    expect(r).toMatchObject({ version: 2, vmpl: 0, signingKey: "vcek", maskChipKey: false, reportedTcb: { bootloader: 2, tee: 0, snp: 5, microcode: 0x44 } });
    expect(r.measurement.toString("hex")).toBe(MEASUREMENT);
    expect(r.policy).toBe(0xb0000n);
    expect(() => parseSnpReport(data("attestation.bin").subarray(0, 1000))).toThrow(/1000 bytes; an ATTESTATION_REPORT is 1184/);
  });

  it("accepts the genuine report: chain VCEK ← ASK ← ARK-Milan, signature, TCB binding, report data, measurement", () => {
    const a = appraise();
    expect(a.accepted, a.reason).toBe(true);
    expect(a.checks.map((c) => c.check)).toEqual(["chain", "validity", "signature", "tcb", "nonce", "policy", "reference"]);
    expect(a.checks[0]!.detail).toMatch(/^SEV-VCEK ← SEV-Milan ← ARK-Milan/);
    expect(a.claims).toMatchObject({
      snp: { measurement: MEASUREMENT, reportData: "0102030405".padEnd(128, "0"), debug: true, vmpl: 0, reportedTcb: { snp: 5, microcode: 0x44 } },
    });
    expect((a.claims!.snp as { chipId: string }).chipId).toMatch(/^3ac3fe21e13fb099/);
    // The VCEK may come as PEM too.
    const pem = new X509Certificate(data("vcek.testcer")).toString();
    expect(appraise({ evidence: { ...evidence(), vcek: Buffer.from(pem) } }).accepted).toBe(true);
  });

  it("refuses a report whose policy allows debugging unless the reference allows it, a wrong measurement, and other report data", () => {
    expect(appraise({ reference: sevSnpFormat.reference.parse({ measurement: MEASUREMENT }) }).reason).toBe("policy: the guest policy allows DEBUG (the host can read its memory)");
    expect(appraise({ reference: { ...REF, measurement: "00".repeat(48) } }).reason).toMatch(/^reference: MEASUREMENT is b07af962.*; the reference is 0000/);
    expect(appraise({ reference: { ...REF, minTcb: { bootloader: 2, tee: 0, snp: 8, microcode: 0 } } }).reason).toMatch(/^reference: REPORTED_TCB bl 2 tee 0 snp 5 ucode 68 is below/);
    expect(appraise({ nonce: Buffer.from("0102030406", "hex") }).reason).toMatch(/^nonce: REPORT_DATA 0102030405 ?0+ is not the nonce 0102030406/);
  });

  it("refuses flipped bytes all over the signed report and the signature, naming the signature", () => {
    const report = data("attestation.bin");
    // Every 7th byte (each appraisal checks two RSA-4096 certificates too): every field of the report is hit.
    for (let at = 0; at < 0x2a0 + 144; at += 7) {
      const a = appraise({ evidence: { ...evidence(), report: flip(report, at) } });
      expect(a.accepted, `byte 0x${at.toString(16)}`).toBe(false);
      // Flips that change the format (version, algorithm, signing key, high signature bytes) are refused as such.
      expect(a.reason, `byte 0x${at.toString(16)}`).toMatch(/^(signature: the report's ECDSA P-384 signature does not verify with the VCEK|format: SEV-SNP report: )/);
    }
    expect(appraise({ evidence: { ...evidence(), report: flip(report, 0x90) } }).reason).toMatch(/^signature: /);
    expect(appraise({ evidence: { ...evidence(), report: flip(report, 0x2a0) } }).reason).toMatch(/^signature: /);
    expect(appraise({ evidence: { ...evidence(), report: flip(report, 0x2a0 + 60) } }).reason).toBe("format: SEV-SNP report: signature r is wider than a P-384 scalar");
  });

  it("refuses a flipped byte in the VCEK or the ASK, naming the chain", () => {
    const vcek = data("vcek.testcer");
    // A byte of the VCEK's signature (its last) and of its validity period (inside the signed TBS).
    expect(appraise({ evidence: { ...evidence(), vcek: flip(vcek, vcek.length - 1) } }).reason).toBe("chain: the VCEK SEV-VCEK is not signed by the ASK SEV-Milan");
    const notBefore = vcek.indexOf("220924005528Z");
    expect(notBefore).toBeGreaterThan(0);
    expect(appraise({ evidence: { ...evidence(), vcek: flip(vcek, notBefore + 11) } }).reason).toBe("chain: the VCEK SEV-VCEK is not signed by the ASK SEV-Milan");
    const pem = data("ask_ark_milan.pem").toString();
    const ask = pem.slice(0, pem.indexOf("-----END CERTIFICATE-----"));
    const at = ask.length - 20; // inside the ASK's signature, in base64
    const tampered = pem.slice(0, at) + (pem[at] === "A" ? "B" : "A") + pem.slice(at + 1);
    expect(appraise({ evidence: { ...evidence(), chain: Buffer.from(tampered) } }).reason).toBe("chain: the ASK SEV-Milan is not signed by the endorsed root ARK-Milan");
    expect(appraise({ evidence: { ...evidence(), chain: data("vcek.testcer") } }).reason).toBe("chain: the ASK SEV-VCEK is not signed by the endorsed root ARK-Milan");
  });

  it("refuses the genuine evidence under another product's root (ARK-Genoa), even when the chain carries its own ARK", () => {
    const genoa = sevSnpFormat.endorsement(data("ask_ark_genoa.pem").toString());
    expect(appraise({ endorsement: genoa }).reason).toBe("chain: the ASK SEV-Milan is not signed by the endorsed root ARK-Genoa");
    expect(() => sevSnpFormat.endorsement(data("vcek.testcer").toString("latin1"))).toThrow(/ARK/);
  });

  it("refuses certificates outside their validity at the verifier's time", () => {
    expect(appraise({ now: Date.parse("2030-01-01T00:00:00Z") }).reason).toMatch(/^validity: SEV-VCEK is valid Sep 24 00:55:28 2022 GMT – Sep 24 00:55:28 2029 GMT, not at 2030-01-01/);
  });

  it("signs a result for the format through the verifier, with the verifier's nonce as report data", async () => {
    const clock = new ManualClock(NOW);
    const keys = generateKey("verifier-test");
    const accept: NonceStore = { issue: () => ({ nonce: "0102030405", expiresAt: 0 }), consume: () => ({ ok: true }) };
    const req = {
      format: "sev-snp",
      evidence: evidence(),
      endorsement: data("ask_ark_milan.pem").toString(),
      nonce: "0102030405",
      reference: { measurement: MEASUREMENT, allowDebug: true },
      node: "cvm-1",
    };
    const good = await verifyAttestation(req, { nonces: accept, signerKey: keys.signerKey, clock });
    expect(good.result).toMatchObject({ accepted: true, format: "sev-snp", node: "cvm-1", snp: { measurement: MEASUREMENT } });
    expect(good.result.ak).toMatch(/^[0-9a-f]{64}$/);
    // A real verifier's book never issued the sample's report data: fresh evidence needs SEV-SNP hardware.
    const book = new NonceBook(clock);
    const stale = await verifyAttestation(req, { nonces: book, signerKey: keys.signerKey, clock });
    expect(stale.result).toMatchObject({ accepted: false, reason: expect.stringMatching(/^freshness: nonce 0102030405 was not issued by this verifier/) });
    await expect(verifyAttestation({ ...req, reference: { measurement: "zz" } }, { nonces: accept, signerKey: keys.signerKey, clock })).rejects.toThrow(/reference: measurement: 48 bytes of hex/);
    expect(() => evidenceFormat("sgx")).toThrow(/"sgx" is not one this verifier appraises \(tpm, sev-snp, nitro\)/);
  });
});
