/**
 * Appraisal of AWS Nitro Enclaves evidence: one attestation document (nitro.ts), which carries its own signing
 * certificate and CA bundle. The operator endorses the AWS Nitro Enclaves root (G1, `aws.nitro-enclaves`, published
 * by AWS with SHA-256 fingerprint 641A0321…79BB5B); a root inside the document is never trusted, only used to find
 * the path. Checks, in order (AWS "Verifying the root of trust"): format; chain leaf ← intermediates ← the endorsed
 * root (ECDSA, node:crypto), every issuer a CA; validity of each certificate at the verifier's time (the leaf lives
 * about three hours, so a stored document stops verifying soon after it was made); the COSE_Sign1 ES384 signature
 * by the leaf; the document's nonce is the verifier's; no debug-mode enclave (its PCRs are all zero) unless the
 * reference allows it; the PCRs the reference names. Pure.
 */
import { verify, type X509Certificate } from "node:crypto";
import { z } from "zod";
import { concluded, type EvidenceCheck, type EvidenceFormat } from "./evidence.js";
import { parseNitroDocument, type NitroDocument } from "./nitro.js";
import { QuoteFormatError } from "./tpm.js";
import { certificate, cn, selfSigned, spkiSha256 } from "./x509.js";

const pcrValue = z.string().regex(/^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$/, "expected a 32, 48 or 64-byte hex value");
export const nitroReferenceSchema = z
  .object({
    /** PCR index (0 image, 1 kernel and bootstrap, 2 application, 3 parent IAM role, 4 parent instance, 8 signing certificate) → value. */
    pcrs: z
      .record(z.string().regex(/^(?:[0-9]|[12][0-9]|3[01])$/, "expected a PCR index 0-31"), pcrValue)
      .refine((p) => Object.keys(p).length > 0, "names no PCR: an empty reference would accept any enclave"),
    /** A debug-mode enclave's memory and console are readable from its parent, and its PCRs are zeros: refused unless this is true. */
    allowDebug: z.boolean().default(false),
  })
  .strict();
export type NitroReference = z.output<typeof nitroReferenceSchema>;

/** What an accepted Nitro result vouches for (hex fields). */
export interface NitroClaims {
  moduleId: string;
  timestamp: string;
  pcrs: Record<string, string>;
  debug: boolean;
  publicKey?: string;
  userData?: string;
}

/** The endorsed root: one self-signed certificate, PEM (AWS_NitroEnclaves_Root-G1.zip's root.pem). */
function rootOf(text: string): X509Certificate {
  const pem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(text)?.[0];
  if (!pem) throw new QuoteFormatError("Nitro root: no PEM certificate; expected the AWS Nitro Enclaves root (root.pem)");
  const root = certificate(pem, "Nitro root");
  if (!selfSigned(root)) throw new QuoteFormatError(`Nitro root: ${cn(root)} is not self-signed; expected the AWS Nitro Enclaves root`);
  return root;
}

/** leaf ← cabundle's intermediates (in order) ← the endorsed root; the bundle's own root is skipped, not trusted. */
function chainCheck(leaf: X509Certificate, intermediates: X509Certificate[], root: X509Certificate): EvidenceCheck {
  let issuer = root;
  for (const c of [...intermediates, leaf]) {
    if (!issuer.ca) return { check: "chain", ok: false, detail: `${cn(issuer)} is not a CA certificate` };
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey))
      return { check: "chain", ok: false, detail: `${cn(c)} is not signed by ${issuer === root ? `the endorsed root ${cn(root)}` : cn(issuer)}` };
    issuer = c;
  }
  return { check: "chain", ok: true, detail: `${cn(leaf)} ← ${intermediates.length} intermediates ← ${cn(root)} (endorsed root ${spkiSha256(root).slice(0, 16)}…)` };
}

function validityCheck(certs: X509Certificate[], now: number): EvidenceCheck {
  for (const c of certs) {
    if (!(now >= Date.parse(c.validFrom) && now <= Date.parse(c.validTo)))
      return { check: "validity", ok: false, detail: `${cn(c)} is valid ${c.validFrom} – ${c.validTo}, not at ${new Date(now).toISOString()}` };
  }
  return { check: "validity", ok: true, detail: `${certs.length} certificates valid at ${new Date(now).toISOString()}` };
}

const zero = (b: Buffer) => b.every((x) => x === 0);
const debugMode = (d: NitroDocument) => [0, 1, 2].every((i) => d.pcrs.get(i) === undefined || zero(d.pcrs.get(i)!));

function referenceCheck(d: NitroDocument, ref: NitroReference): EvidenceCheck {
  const bad = Object.entries(ref.pcrs).flatMap(([i, want]) => {
    const got = d.pcrs.get(Number(i))?.toString("hex");
    return got === want.toLowerCase() ? [] : [`PCR${i} is ${got ?? "absent"}; the reference is ${want.toLowerCase()}`];
  });
  return { check: "reference", ok: bad.length === 0, detail: bad.length === 0 ? `PCR ${Object.keys(ref.pcrs).join(", ")} match` : bad.join("; ") };
}

export const nitroFormat: EvidenceFormat<X509Certificate, NitroReference> = {
  name: "nitro",
  parts: ["document"],
  endorsement: rootOf,
  reference: nitroReferenceSchema,
  appraise({ evidence, endorsement: root, nonce, reference, now }) {
    const checks: EvidenceCheck[] = [];
    let doc: NitroDocument, leaf: X509Certificate, bundle: X509Certificate[];
    try {
      if (!evidence["document"]?.length) throw new QuoteFormatError("Nitro evidence: no document");
      doc = parseNitroDocument(evidence["document"]);
      leaf = certificate(doc.certificate, "Nitro document certificate");
      bundle = doc.cabundle.map((c, i) => certificate(c, `Nitro cabundle[${i}]`));
      if (leaf.publicKey.asymmetricKeyDetails?.namedCurve !== "secp384r1") throw new QuoteFormatError("Nitro document certificate: not a P-384 key, as ES384 needs");
    } catch (e) {
      if (!(e instanceof QuoteFormatError)) throw e;
      checks.push({ check: "format", ok: false, detail: e.message });
      return concluded(checks);
    }
    const intermediates = bundle.filter((c) => !selfSigned(c));
    const chained = chainCheck(leaf, intermediates, root);
    checks.push(chained);
    checks.push(validityCheck([root, ...intermediates, leaf], now));
    const sigOk = verify("sha384", doc.signed, { key: leaf.publicKey, dsaEncoding: "ieee-p1363" }, doc.signature);
    checks.push({ check: "signature", ok: sigOk, detail: sigOk ? "COSE_Sign1 ES384 by the document's certificate" : `the COSE_Sign1 ES384 signature does not verify with ${cn(leaf)}` });
    const n = Buffer.from(nonce);
    const nonceOk = doc.nonce !== undefined && doc.nonce.equals(n);
    checks.push({
      check: "nonce",
      ok: nonceOk,
      detail: nonceOk
        ? "the document's nonce is the verifier's"
        : doc.nonce === undefined
          ? "the document carries no nonce"
          : `the document's nonce ${doc.nonce.toString("hex").slice(0, 32)}… is not ${n.toString("hex").slice(0, 32)}…`,
    });
    const debug = debugMode(doc);
    checks.push({
      check: "policy",
      ok: !debug || reference.allowDebug,
      detail: debug ? `a debug-mode enclave (PCR0–2 are zero: its parent can read it)${reference.allowDebug ? ", allowed by the reference" : ""}` : "not in debug mode",
    });
    checks.push(referenceCheck(doc, reference));
    const trusted = chained.ok && sigOk;
    const claims: { nitro: NitroClaims } = {
      nitro: {
        moduleId: doc.moduleId,
        timestamp: new Date(doc.timestamp).toISOString(),
        pcrs: Object.fromEntries([...doc.pcrs].map(([i, v]) => [String(i), v.toString("hex")])),
        debug,
        ...(doc.publicKey ? { publicKey: doc.publicKey.toString("hex") } : {}),
        ...(doc.userData ? { userData: doc.userData.toString("hex") } : {}),
      },
    };
    return concluded(checks, { signer: spkiSha256(leaf), ...(trusted ? { claims } : {}) });
  },
};
