// AWS Nitro Enclaves evidence on a published sample (test/testdata/nitro, from blocky/nitrite): the genuine
// document verifies to the endorsed AWS Nitro root at its own time and its PCRs are extracted; a flipped byte
// in the payload or the signature, a forged root of the same name, another nonce, a time outside the short-lived
// leaf's validity, a debug-mode enclave and a wrong PCR are refused naming the check; the verifier signs it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { describe, expect, it } from "vitest";
import { createHash, webcrypto, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { decode, encode } from "cborg";
import { ManualClock } from "../../../runtime/common/clock.js";
import { evidenceFormat, nitroFormat, NonceBook, parseNitroDocument, spireAgentAttributes, verifyAttestation } from "../../../runtime/attest/index.js";
import { RESULT_TYPE, signResult, type AttestationResult } from "../../../runtime/attest/core/result.js";
import { generateKey } from "../../../runtime/prooflog/index.js";

const data = (f: string) => readFileSync(new URL(`../../testdata/nitro/${f}`, import.meta.url));
const REF = nitroFormat.reference.parse(JSON.parse(data("reference.json").toString()));
const PCR0 = "e72a46ca80a260fb044a125442f0c7e331813bcbaf9724d9f3857758992766f2d65710a27aa94ae3949dd54e7c9fe86a";
// The document's timestamp: its leaf certificate is valid 14:37:36 – 17:37:39 that day.
const MADE = Date.parse("2024-09-07T14:37:39.545Z");
const NONCE = Buffer.alloc(1024, 0x01);
const ROOT = nitroFormat.endorsement(data("root.pem").toString());
const appraise = (over: Partial<Parameters<typeof nitroFormat.appraise>[0]> = {}) =>
  nitroFormat.appraise({ evidence: { document: data("attestation.cbor") }, endorsement: ROOT, nonce: NONCE, reference: REF, now: MADE, ...over });
const flip = (b: Buffer, at: number) => {
  const c = Buffer.from(b);
  c[at]! ^= 0x01;
  return c;
};

describe("AWS Nitro Enclaves attestation documents (a published sample)", () => {
  it("parses the COSE_Sign1 and its payload", () => {
    const d = parseNitroDocument(data("attestation.cbor"));
    expect(d).toMatchObject({ moduleId: "i-0a22e5c5f24d22174-enc0191cceb4289903f", digest: "SHA384", timestamp: MADE });
    expect(d.pcrs.size).toBe(16);
    expect(d.pcrs.get(0)!.toString("hex")).toBe(PCR0);
    expect(d.cabundle.length).toBe(4);
    expect(d.nonce).toEqual(NONCE);
    expect(d.signature.length).toBe(96);
    // The Sig_structure is the COSE one: ["Signature1", protected, h'', payload].
    const [ctx, , aad, payload] = decode(d.signed) as [string, Uint8Array, Uint8Array, Uint8Array];
    expect([ctx, aad.length]).toEqual(["Signature1", 0]);
    expect(decode(payload, { useMaps: true }).get("module_id")).toBe(d.moduleId);
    expect(() => parseNitroDocument(data("attestation.cbor").subarray(0, 300))).toThrow(/not well-formed CBOR/);
  });

  it("accepts the genuine document at its own time: chain to the endorsed root, ES384 signature, nonce, PCRs", () => {
    const a = appraise();
    expect(a.accepted, a.reason).toBe(true);
    expect(a.checks.map((c) => c.check)).toEqual(["chain", "validity", "signature", "nonce", "policy", "reference"]);
    expect(a.checks[0]!.detail).toMatch(/^i-0a22e5c5f24d22174-enc0191cceb4289903f\.us-east-1\.aws ← 3 intermediates ← aws\.nitro-enclaves/);
    const leaf = new X509Certificate(parseNitroDocument(data("attestation.cbor")).certificate);
    expect(a.signer).toBe(
      createHash("sha256")
        .update(leaf.publicKey.export({ type: "spki", format: "der" }))
        .digest("hex"),
    );
    expect(a.claims).toMatchObject({ nitro: { moduleId: "i-0a22e5c5f24d22174-enc0191cceb4289903f", timestamp: "2024-09-07T14:37:39.545Z", debug: false, pcrs: { "0": PCR0 } } });
    // The endorsed root is AWS's published one (its fingerprint is in AWS's documentation).
    expect(ROOT.fingerprint256).toBe("64:1A:03:21:A3:E2:44:EF:E4:56:46:31:95:D6:06:31:7E:D7:CD:CC:3C:17:56:E0:98:93:F3:C6:8F:79:BB:5B");
  });

  it("refuses flipped bytes in the payload and the signature", () => {
    const doc = data("attestation.cbor");
    const pcr0At = doc.indexOf(Buffer.from(PCR0, "hex"));
    expect(appraise({ evidence: { document: flip(doc, pcr0At) } }).reason).toMatch(/^signature: the COSE_Sign1 ES384 signature does not verify/);
    expect(appraise({ evidence: { document: flip(doc, doc.length - 1) } }).reason).toMatch(/^signature: /);
    // Every 61st byte of the whole document: nothing changed is ever accepted, and each refusal names a check.
    for (let at = 0; at < doc.length; at += 61) {
      const a = appraise({ evidence: { document: flip(doc, at) } });
      expect(a.accepted, `byte ${at}`).toBe(false);
      expect(a.reason, `byte ${at}`).toMatch(/^(format|chain|signature|nonce|reference): /);
    }
  });

  it("refuses a document re-signed by a forged root of the same name, and a forged root endorsed in place of AWS's", async () => {
    const alg = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves",
      notBefore: new Date("2019-10-28T13:28:05Z"),
      notAfter: new Date("2049-10-28T14:28:05Z"),
      keys: keys as CryptoKeyPair,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const a = appraise({ endorsement: evidenceFormat("nitro").endorsement(forged.toString("pem")) as X509Certificate });
    expect(a.reason).toMatch(/^chain: ec28cbbaae08094d\.us-east-1\.aws\.nitro-enclaves is not signed by the endorsed root aws\.nitro-enclaves/);
    expect(a.claims).toBeUndefined();
    // What the operator endorses must be a self-signed certificate: an intermediate or anything else is refused.
    expect(() => nitroFormat.endorsement(data("reference.json").toString())).toThrow(/no PEM certificate/);
    const intermediate = new X509Certificate(parseNitroDocument(data("attestation.cbor")).cabundle[1]!).toString();
    expect(() => nitroFormat.endorsement(intermediate)).toThrow(/is not self-signed/);
  });

  it("refuses another nonce, and a time outside the leaf's three hours (the sample today)", () => {
    expect(appraise({ nonce: Buffer.alloc(32, 0x01) }).reason).toMatch(/^nonce: the document's nonce 0101.* is not 0101/);
    expect(appraise({ now: Date.parse("2026-12-05T12:00:00Z") }).reason).toMatch(/^validity: .* is valid .* not at 2026-12-05T12:00:00\.000Z/);
    expect(appraise({ now: MADE + 3 * 3600_000 + 60_000 }).reason).toMatch(/^validity: i-0a22e5c5f24d22174-enc0191cceb4289903f\.us-east-1\.aws is valid/);
    expect(appraise({ now: Date.parse("2024-09-07T14:37:30Z") }).reason).toMatch(/^validity: /);
  });

  it("refuses a debug-mode enclave unless the reference allows it, and a PCR off the reference", () => {
    const debugDoc = { document: data("attestation-debug.cbor") };
    const at = Date.parse("2024-09-07T14:38:06.508Z");
    const pcr4 = parseNitroDocument(debugDoc.document).pcrs.get(4)!.toString("hex");
    const ref4 = nitroFormat.reference.parse({ pcrs: { "4": pcr4 } });
    expect(appraise({ evidence: debugDoc, now: at, reference: ref4 }).reason).toMatch(/^policy: a debug-mode enclave/);
    expect(appraise({ evidence: debugDoc, now: at, reference: { ...ref4, allowDebug: true } }).accepted).toBe(true);
    expect(appraise({ evidence: debugDoc, now: at, reference: { ...REF, allowDebug: true } }).reason).toMatch(/^reference: PCR0 is 0{96}; the reference is e72a46ca/);
    // PCR8 (the enclave image's signing certificate) is zero in the sample: the image was not signed.
    expect(appraise({ reference: { ...REF, pcrs: { ...REF.pcrs, "8": "11".repeat(48) } } }).reason).toMatch(/^reference: PCR8 is 0{96}; the reference is 1{96}$/);
    expect(appraise({ reference: { ...REF, pcrs: { ...REF.pcrs, "20": "11".repeat(48) } } }).reason).toMatch(/^reference: PCR20 is absent/);
    expect(nitroFormat.reference.safeParse({ pcrs: {} }).success).toBe(false);
  });

  it("refuses a document whose protected header names another algorithm, though the rest is intact", () => {
    const [, unprotected, payload, signature] = decode(data("attestation.cbor"), { useMaps: true }) as [Uint8Array, Map<number, unknown>, Uint8Array, Uint8Array];
    const es256 = encode([encode(new Map([[1, -7]])), unprotected, payload, signature]);
    expect(appraise({ evidence: { document: Buffer.from(es256) } }).reason).toBe("format: Nitro attestation document: protected header alg is -7; expected -35 (ES384)");
  });

  it("the verifier appraises the format: the sample is not fresh for our nonce, so it is refused, signed, with its claims", async () => {
    const clock = new ManualClock(MADE);
    const nonces = new NonceBook(clock);
    const n = nonces.issue(60_000).nonce;
    const keys = generateKey("nitro-test");
    const v = await verifyAttestation(
      {
        format: "nitro",
        evidence: { document: data("attestation.cbor") },
        endorsement: data("root.pem").toString(),
        nonce: n,
        reference: JSON.parse(data("reference.json").toString()),
        node: "enclave-1",
      },
      { nonces, signerKey: keys.signerKey, clock },
    );
    expect(v.result).toMatchObject({ format: "nitro", node: "enclave-1", accepted: false, nitro: { pcrs: { "0": PCR0 } } });
    expect(v.result.reason).toMatch(/^nonce: the document's nonce/);
    expect(v.result.checks.filter((c) => c.ok).map((c) => c.check)).toEqual(["chain", "validity", "signature", "policy", "reference"]);
    expect(v.note).toMatch(/^\{"type":"meridian\.attestation-result\/v1"/);
  });

  it("gives SPIRE an accepted enclave's PCRs as pcr:sha384 selectors", () => {
    const keys = generateKey("nitro-spire");
    const a = appraise();
    const result: AttestationResult = {
      type: RESULT_TYPE,
      status: "affirming",
      accepted: true,
      node: "enclave-1",
      format: "nitro",
      ak: a.signer!,
      nonce: "01",
      appraisedAt: new Date(MADE).toISOString(),
      verifier: "nitro-spire",
      checks: a.checks,
      freshness: { ok: true, detail: "verifier-issued, unused, unexpired" },
      ...a.claims,
    };
    const attrs = spireAgentAttributes(signResult(result, keys.signerKey), { verifierKey: keys.verifierKey, now: MADE, maxAgeMs: 60_000, node: "enclave-1", trustDomain: "attest.test" });
    if ("refused" in attrs) throw new Error(attrs.refused);
    expect(attrs.selector_values).toContain(`pcr:sha384:0:${PCR0}`);
    expect(attrs.selector_values).toContain("format:nitro");
  });
});
