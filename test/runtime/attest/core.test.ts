// The attestation core on vendored swtpm quotes (test/testdata/attest): parsing, appraisal, and that any
// change to the signed message or the signature is refused; nonce books (memory and file) with an injected
// clock: single use, expiry, unknown nonces.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../../runtime/common/clock.js";
import { admit, appraiseQuote, FileNonceBook, NonceBook, parseAttest, parsePcrValues, parseSignature, verifyAttestation, type NonceStore } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";

const data = (f: string) => readFileSync(new URL(`../../testdata/attest/${f}`, import.meta.url));
const AK = data("ak.pem").toString();
const ZERO = "00".repeat(32);
const PCR16 = "9ef814b42fa0be12d197c44d3e8e03441a4b1118237658368ba1351090e556ed";
const REF = { sha256: { "0": ZERO, "1": ZERO, "2": ZERO, "16": PCR16 } };
const NONCE = Buffer.from("0011223344556677", "hex");
const evidence = () => ({ message: data("quote.msg"), signature: data("quote.sig"), pcrs: data("quote.pcrs") });

describe("TPM structures as tpm2-tools writes them", () => {
  it("parses the quote, its TSS signature and the PCR values file", () => {
    const a = parseAttest(data("quote.msg"));
    expect(a).toMatchObject({ magic: 0xff544347, type: 0x8018, quote: { selection: [{ hash: 0x000b, pcrs: [0, 1, 2, 16] }] } });
    expect(a.extraData.toString("hex")).toBe("0011223344556677");
    expect(parseSignature(data("quote.sig"))).toMatchObject({ format: "tss", alg: 0x0014, hash: 0x000b });
    expect(parseSignature(data("quote-plain.sig"))).toMatchObject({ format: "plain" });
    const v = parsePcrValues(data("quote.pcrs"));
    expect(v.values.sha256![16]!.toString("hex")).toBe(PCR16);
    // A TPM2B_ATTEST (size-prefixed) is the same quote.
    const sized = Buffer.concat([Buffer.from([0, data("quote.msg").length]), data("quote.msg")]);
    expect(parseAttest(sized).extraData).toEqual(a.extraData);
  });

  it("accepts the genuine quote (TSS and plain signatures) and reports every check", () => {
    const r = appraiseQuote(evidence(), AK, NONCE, REF);
    expect(r.accepted).toBe(true);
    expect(r.checks.map((c) => c.check)).toEqual(["signature", "magic", "type", "nonce", "selection", "pcrDigest", "reference"]);
    const plain = appraiseQuote({ message: data("quote-plain.msg"), signature: data("quote-plain.sig"), pcrs: data("quote-plain.pcrs") }, AK, Buffer.from("0011", "hex"), REF);
    expect(plain).toMatchObject({ accepted: true, signatureScheme: "rsassa-sha256 (plain)" });
  });

  it("reads two PCR banks spread over two digest lists, and an ECDSA signature", () => {
    const e = { message: data("multibank.msg"), signature: data("multibank.sig"), pcrs: data("multibank.pcrs") };
    const v = parsePcrValues(e.pcrs);
    expect(v.selection).toEqual([
      { hash: 0x0004, pcrs: [0, 10] },
      { hash: 0x000b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 23] },
    ]);
    const ref = { sha1: { "10": "af40ddc4aca154a71fc215f17e4fe5a82f12e315" }, sha256: { "23": ZERO } };
    expect(appraiseQuote(e, data("ak-ecc.pem").toString(), Buffer.from("00aa", "hex"), ref)).toMatchObject({ accepted: true, signatureScheme: "ecdsa-sha256" });
    // The RSA AK did not sign it.
    expect(appraiseQuote(e, AK, Buffer.from("00aa", "hex"), ref).reason).toMatch(/^signature: /);
  });

  it("refuses any change to the signed message or the signature", () => {
    fc.assert(
      fc.property(fc.constantFrom("message", "signature") as fc.Arbitrary<"message" | "signature">, fc.nat(), fc.integer({ min: 1, max: 255 }), (field, at, flip) => {
        const e = evidence();
        const bytes = Buffer.from(e[field]);
        bytes[at % bytes.length] = bytes[at % bytes.length]! ^ flip;
        const r = appraiseQuote({ ...e, [field]: bytes }, AK, NONCE, REF);
        expect(r.accepted).toBe(false);
        expect(r.pcrs).toBeUndefined(); // no PCR value is vouched for by a quote that fails its signature or digest
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a changed PCR value, a truncated file and another nonce, naming the check", () => {
    const e = evidence();
    const pcrs = Buffer.from(e.pcrs);
    const at = pcrs.indexOf(Buffer.from(PCR16, "hex")) + 5;
    pcrs[at] = pcrs[at]! ^ 0xff;
    expect(appraiseQuote({ ...e, pcrs }, AK, NONCE, REF).reason).toMatch(/^pcrDigest: /);
    expect(appraiseQuote({ ...e, pcrs: e.pcrs.subarray(0, 200) }, AK, NONCE, REF).reason).toMatch(/^format: PCR values file: 200 bytes/);
    expect(appraiseQuote({ ...e, message: e.message.subarray(0, 40) }, AK, NONCE, REF).reason).toMatch(/^format: quote message \(TPMS_ATTEST\): truncated/);
    expect(appraiseQuote(e, AK, Buffer.from("0011223344556678", "hex"), REF).reason).toMatch(/^nonce: extraData 0011223344556677 is not the nonce/);
    expect(appraiseQuote(e, AK, NONCE, { sha256: { "23": ZERO } }).reason).toBe("reference: sha256 PCR 23 is not in the quote");
  });
});

describe("signed results and the relying party", () => {
  it("admits a node only on a fresh, accepted result the verifier signed, for that node", async () => {
    const clock = new ManualClock(Date.parse("2026-12-03T08:00:00Z"));
    const keys = generateKey("verifier-test");
    // A book that issued the vendored quote's nonce.
    const nonces: NonceStore = { issue: () => ({ nonce: "0011223344556677", expiresAt: 0 }), consume: () => ({ ok: true }) };
    const good = await verifyAttestation({ evidence: evidence(), ak: AK, nonce: "0011223344556677", reference: REF, node: "node-1" }, { nonces, signerKey: keys.signerKey, clock });
    expect(good.result).toMatchObject({ accepted: true, node: "node-1", verifier: "verifier-test" });
    const o = { verifierKey: keys.verifierKey, now: clock.now(), maxAgeMs: 600_000, node: "node-1" };
    expect(admit(good.note, o)).toBe(true);
    expect(admit(good.note, { ...o, node: "node-2" })).toMatch(/is for node-1, not node-2/);
    expect(admit(good.note, { ...o, now: clock.now() + 600_001 })).toMatch(/older than 600000 ms/);
    expect(admit(good.note, { ...o, ak: "00".repeat(32) })).toMatch(/not the endorsed/);
    expect(admit(good.note, { ...o, verifierKey: generateKey("verifier-test").verifierKey })).toMatch(/does not verify/);
    expect(admit(good.note.replace("node-1", "node-2"), { ...o, node: "node-2" })).toMatch(/does not verify/);
    expect(admit(undefined, o)).toBe("no attestation result");
    const bad = await verifyAttestation(
      { evidence: evidence(), ak: AK, nonce: "0011223344556677", reference: { sha256: { "16": ZERO } }, node: "node-1" },
      { nonces, signerKey: keys.signerKey, clock },
    );
    expect(admit(bad.note, o)).toMatch(/^attestation refused: reference: sha256 PCR 16 is 9ef8/);
  });
});

describe("nonce books", () => {
  const books: [string, (clock: ManualClock) => { book: NonceStore; done(): void }][] = [
    ["memory", (clock) => ({ book: new NonceBook(clock), done: () => undefined })],
    [
      "file",
      (clock) => {
        const dir = mkdtempSync(join(tmpdir(), "meridian-nonces-"));
        return { book: new FileNonceBook(dir, clock), done: () => rmSync(dir, { recursive: true, force: true }) };
      },
    ],
  ];
  for (const [name, make] of books) {
    it(`${name}: accepts an issued nonce once, then refuses it as reused; refuses unknown and expired nonces`, async () => {
      const clock = new ManualClock(1_000_000);
      const { book, done } = make(clock);
      try {
        const a = await book.issue(60_000);
        expect(await book.consume(a.nonce)).toEqual({ ok: true });
        expect(await book.consume(a.nonce)).toMatchObject({ ok: false, why: "reused" });
        expect(await book.consume("ab".repeat(32))).toMatchObject({ ok: false, why: "unknown" });
        const b = await book.issue(60_000);
        clock.advance(60_000);
        expect(await book.consume(b.nonce)).toMatchObject({ ok: false, why: "expired" });
        expect(await book.consume(b.nonce)).toMatchObject({ ok: false });
      } finally {
        done();
      }
    });
  }

  it("memory: whatever the sequence of consumes and clock steps, each nonce is accepted at most once and never after expiry", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(4), fc.nat(30_000)), { maxLength: 60 }), (steps) => {
        const clock = new ManualClock(0);
        const book = new NonceBook(clock);
        const issued = [0, 1, 2, 3, 4].map(() => book.issue(50_000));
        const accepted = new Map<string, number>();
        for (const [i, dt] of steps) {
          clock.advance(dt);
          const n = issued[i]!;
          if (book.consume(n.nonce).ok) {
            expect(accepted.has(n.nonce)).toBe(false);
            expect(clock.now()).toBeLessThan(n.expiresAt);
            accepted.set(n.nonce, clock.now());
          }
        }
      }),
    );
  });
});
