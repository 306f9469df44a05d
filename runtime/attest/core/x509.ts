/** X.509 helpers the TEE appraisals share (SEV-SNP's AMD chain, Nitro's AWS chain). Pure. */
import { createHash, X509Certificate } from "node:crypto";
import { QuoteFormatError } from "./tpm.js";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * A certificate whose public key decodes: node:crypto decodes the key lazily, so a damaged one would throw later,
 * mid-appraisal, instead of as the format error it is.
 */
export function certificate(raw: Uint8Array | string, what: string): X509Certificate {
  try {
    const c = new X509Certificate(typeof raw === "string" ? raw : Buffer.from(raw));
    void c.publicKey.asymmetricKeyDetails;
    return c;
  } catch (e) {
    throw new QuoteFormatError(`${what}: not an X.509 certificate (${(e as Error).message})`);
  }
}

/** Every PEM certificate in `raw`, or `raw` itself as one DER certificate. */
export function certificates(raw: Uint8Array, what: string): X509Certificate[] {
  const blocks = Buffer.from(raw).toString("latin1").match(PEM_CERT);
  return blocks ? blocks.map((b) => certificate(b, what)) : [certificate(raw, what)];
}

export const cn = (c: X509Certificate) => /CN=([^\n]+)/.exec(c.subject)?.[1] ?? c.subject.replace(/\n/g, ", ");
export const selfSigned = (c: X509Certificate) => c.checkIssued(c) && c.verify(c.publicKey);
export const spkiSha256 = (c: X509Certificate) =>
  createHash("sha256")
    .update(c.publicKey.export({ format: "der", type: "spki" }))
    .digest("hex");
