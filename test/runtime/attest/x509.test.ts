import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { QuoteFormatError } from "../../../runtime/attest/core/tpm.js";
import { certificate, certificates, cn, selfSigned, spkiSha256 } from "../../../runtime/attest/core/x509.js";

const data = (f: string) => readFileSync(new URL(`../../testdata/${f}`, import.meta.url));

describe("the TEE appraisals' X.509 helpers", () => {
  it("reads a PEM bundle in order (AMD's ASK then ARK) and a single PEM root", () => {
    const [ask, ark] = certificates(data("sev-snp/ask_ark_milan.pem"), "ARK");
    expect([cn(ask!), cn(ark!)]).toEqual(["SEV-Milan", "ARK-Milan"]);
    expect(selfSigned(ark!)).toBe(true);
    expect(selfSigned(ask!)).toBe(false);
    const root = certificate(data("nitro/root.pem").toString(), "Nitro root");
    expect(cn(root)).toBe("aws.nitro-enclaves");
    expect(spkiSha256(root)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses what is not a certificate as a format error naming what it is (damaged keys: nitro.test.ts byte flips)", () => {
    expect(() => certificate(new Uint8Array([1, 2, 3]), "VCEK")).toThrow(QuoteFormatError);
    expect(() => certificate(new Uint8Array([1, 2, 3]), "VCEK")).toThrow(/^VCEK: not an X\.509 certificate/);
    expect(() => certificates(Buffer.from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "bundle")).toThrow(QuoteFormatError);
  });
});
