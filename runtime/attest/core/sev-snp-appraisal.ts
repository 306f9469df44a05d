/**
 * Appraisal of AMD SEV-SNP evidence: the attestation report, the chip's VCEK certificate (AMD KDS
 * `/vcek/v1/{product}/{chip_id}?…`) and the ASK (KDS `cert_chain`, ASK then ARK). The operator endorses the
 * ARK — AMD's root for the product line — and nothing in the evidence can stand in for it. Checks, in order:
 * format; chain VCEK ← ASK ← the endorsed ARK (RSA-PSS, node:crypto); validity of each certificate at the
 * verifier's time; the report's ECDSA P-384 signature by the VCEK; the VCEK's hwID and TCB extensions equal
 * the report's CHIP_ID and REPORTED_TCB (the VCEK is derived from exactly those); REPORT_DATA is the verifier's
 * nonce (zero-padded to 64 bytes); the guest policy (no debug unless the reference allows it, VMPL); and the
 * reference values (MEASUREMENT, optionally HOST_DATA, ID_KEY_DIGEST and a minimum TCB). Pure.
 */
import type * as X509 from "@peculiar/x509";
import { verify, type X509Certificate } from "node:crypto";
import { createRequire } from "node:module";
import { z } from "zod";
import { concluded, type EvidenceCheck, type EvidenceFormat } from "./evidence.js";
import { parseSnpReport, SNP_POLICY, type SnpReport, type SnpTcb } from "./sev-snp.js";
import { QuoteFormatError } from "./tpm.js";
import { certificates, cn, selfSigned, spkiSha256 } from "./x509.js";

const require = createRequire(import.meta.url);
/**
 * @peculiar/x509 (~200 modules, ~80 ms of CPU) loads on the first SEV-SNP appraisal, not with the attest service, which
 * every `meridian local` starts. tsyringe (used by it) needs the Reflect metadata API first.
 */
function peculiar(): typeof X509 {
  require("reflect-metadata");
  return require("@peculiar/x509") as typeof X509;
}

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`), `${bytes} bytes of hex`);
const spl = z.number().int().min(0).max(255);
export const snpReferenceSchema = z
  .object({
    /** The launch digest of the guest's initial memory and VMSAs (e.g. from `sev-snp-measure`). */
    measurement: hex(48),
    hostData: hex(32).optional(),
    idKeyDigest: hex(48).optional(),
    /** Lowest acceptable REPORTED_TCB: a chip on older firmware than this is refused. */
    minTcb: z.object({ bootloader: spl, tee: spl, snp: spl, microcode: spl }).strict().optional(),
    /** A guest whose policy allows debugging can be read by the host: refused unless this is true. */
    allowDebug: z.boolean().default(false),
    /** The highest VMPL the report may come from (0 is the most privileged, the guest kernel's firmware). */
    maxVmpl: z.number().int().min(0).max(3).default(0),
  })
  .strict();
export type SnpReference = z.output<typeof snpReferenceSchema>;

/** What an accepted SEV-SNP result vouches for (hex fields). */
export interface SnpClaims {
  measurement: string;
  reportData: string;
  hostData: string;
  chipId: string;
  policy: string;
  vmpl: number;
  reportedTcb: SnpTcb;
  guestSvn: number;
  debug: boolean;
}

/** The endorsed root: AMD's ARK for the product (ask_ark_<product>.pem from the KDS holds the ASK, then the ARK). */
function arkOf(text: string): X509Certificate {
  const certs = certificates(Buffer.from(text), "SEV-SNP root (ARK)");
  const root = certs.find(selfSigned);
  if (!root) throw new QuoteFormatError("SEV-SNP root (ARK): no self-signed certificate; expected AMD's ARK for the product line");
  return root;
}

/** The AMD VCEK extensions (KDS spec "VCEK certificate"): hwID and the TCB security patch levels. */
const OID = { hwId: "1.3.6.1.4.1.3704.1.4", bootloader: "1.3.6.1.4.1.3704.1.3.1", tee: "1.3.6.1.4.1.3704.1.3.2", snp: "1.3.6.1.4.1.3704.1.3.3", microcode: "1.3.6.1.4.1.3704.1.3.8" };

/** A small DER INTEGER (the SPL extensions' values). */
function derByte(value: ArrayBuffer, oid: string): number {
  const v = Buffer.from(value);
  if (v[0] !== 0x02 || v[1] !== v.length - 2 || v.length < 3 || v.length > 4) throw new QuoteFormatError(`VCEK: extension ${oid} is not a small INTEGER`);
  return v.readUIntBE(2, v.length - 2);
}

function vcekBinding(vcek: X509Certificate): { chipId: Buffer; tcb: SnpTcb } {
  const cert = new (peculiar().X509Certificate)(vcek.raw);
  const ext = (oid: string) => {
    const e = cert.extensions.find((x) => x.type === oid);
    if (!e) throw new QuoteFormatError(`VCEK: no extension ${oid}; not an AMD VCEK certificate`);
    return e.value;
  };
  return {
    chipId: Buffer.from(ext(OID.hwId)),
    tcb: { bootloader: derByte(ext(OID.bootloader), OID.bootloader), tee: derByte(ext(OID.tee), OID.tee), snp: derByte(ext(OID.snp), OID.snp), microcode: derByte(ext(OID.microcode), OID.microcode) },
  };
}

const tcbText = (t: SnpTcb) => `bl ${t.bootloader} tee ${t.tee} snp ${t.snp} ucode ${t.microcode}`;
const sameTcb = (a: SnpTcb, b: SnpTcb) => a.bootloader === b.bootloader && a.tee === b.tee && a.snp === b.snp && a.microcode === b.microcode;

function chainCheck(vcek: X509Certificate, chain: X509Certificate[], ark: X509Certificate): EvidenceCheck {
  // The ASK is the chain's certificate the ARK issued; a copy of an ARK in the chain is not trusted, only the endorsed one.
  const ask = chain.find((c) => !selfSigned(c));
  if (!ask) return { check: "chain", ok: false, detail: "the chain holds no ASK (AMD SEV signing key) certificate" };
  if (!ask.verify(ark.publicKey)) return { check: "chain", ok: false, detail: `the ASK ${cn(ask)} is not signed by the endorsed root ${cn(ark)}` };
  if (!ask.ca) return { check: "chain", ok: false, detail: `the ASK ${cn(ask)} is not a CA certificate` };
  if (!vcek.verify(ask.publicKey)) return { check: "chain", ok: false, detail: `the VCEK ${cn(vcek)} is not signed by the ASK ${cn(ask)}` };
  return { check: "chain", ok: true, detail: `${cn(vcek)} ← ${cn(ask)} ← ${cn(ark)} (endorsed root ${spkiSha256(ark).slice(0, 16)}…)` };
}

function validityCheck(certs: X509Certificate[], now: number): EvidenceCheck {
  for (const c of certs) {
    const from = Date.parse(c.validFrom),
      to = Date.parse(c.validTo);
    if (!(now >= from && now <= to)) return { check: "validity", ok: false, detail: `${cn(c)} is valid ${c.validFrom} – ${c.validTo}, not at ${new Date(now).toISOString()}` };
  }
  return { check: "validity", ok: true, detail: `${certs.length} certificates valid at ${new Date(now).toISOString()}` };
}

function claimsOf(r: SnpReport): SnpClaims {
  return {
    measurement: r.measurement.toString("hex"),
    reportData: r.reportData.toString("hex"),
    hostData: r.hostData.toString("hex"),
    chipId: r.chipId.toString("hex"),
    policy: `0x${r.policy.toString(16)}`,
    vmpl: r.vmpl,
    reportedTcb: r.reportedTcb,
    guestSvn: r.guestSvn,
    debug: (r.policy & SNP_POLICY.debug) !== 0n,
  };
}

function referenceCheck(r: SnpReport, ref: SnpReference): EvidenceCheck {
  const bad: string[] = [];
  const eq = (field: string, got: Buffer, want: string | undefined) => {
    if (want !== undefined && got.toString("hex") !== want.toLowerCase()) bad.push(`${field} is ${got.toString("hex")}; the reference is ${want.toLowerCase()}`);
  };
  eq("MEASUREMENT", r.measurement, ref.measurement);
  eq("HOST_DATA", r.hostData, ref.hostData);
  eq("ID_KEY_DIGEST", r.idKeyDigest, ref.idKeyDigest);
  const min = ref.minTcb;
  if (min && (["bootloader", "tee", "snp", "microcode"] as const).some((k) => r.reportedTcb[k] < min[k])) bad.push(`REPORTED_TCB ${tcbText(r.reportedTcb)} is below the minimum ${tcbText(min)}`);
  return { check: "reference", ok: bad.length === 0, detail: bad.length === 0 ? "MEASUREMENT and the given reference fields match" : bad.join("; ") };
}

export const sevSnpFormat: EvidenceFormat<X509Certificate, SnpReference> = {
  name: "sev-snp",
  parts: ["report", "vcek", "chain"],
  endorsement: arkOf,
  reference: snpReferenceSchema,
  appraise({ evidence, endorsement: ark, nonce, reference, now }) {
    const checks: EvidenceCheck[] = [];
    let report: SnpReport, vcek: X509Certificate, chain: X509Certificate[], bound: { chipId: Buffer; tcb: SnpTcb };
    try {
      for (const p of sevSnpFormat.parts) if (!evidence[p]?.length) throw new QuoteFormatError(`SEV-SNP evidence: no ${p}`);
      report = parseSnpReport(evidence.report!);
      if (report.signingKey !== "vcek") throw new QuoteFormatError(`SEV-SNP report: signed by the ${report.signingKey === "vlek" ? "VLEK" : "no key"}; only VCEK-signed reports are appraised`);
      if (report.maskChipKey) throw new QuoteFormatError("SEV-SNP report: MASK_CHIP_KEY is set, so the report is unsigned");
      vcek = certificates(evidence.vcek!, "VCEK")[0]!;
      chain = certificates(evidence.chain!, "ASK chain");
      if (vcek.publicKey.asymmetricKeyDetails?.namedCurve !== "secp384r1") throw new QuoteFormatError("VCEK: not a P-384 key");
      bound = vcekBinding(vcek);
    } catch (e) {
      if (!(e instanceof QuoteFormatError)) throw e;
      checks.push({ check: "format", ok: false, detail: e.message });
      return concluded(checks);
    }
    const chained = chainCheck(vcek, chain, ark);
    checks.push(chained);
    checks.push(validityCheck([vcek, ...chain.filter((c) => !selfSigned(c)), ark], now));
    const sigOk = verify("sha384", report.signed, { key: vcek.publicKey, dsaEncoding: "ieee-p1363" }, report.signature);
    checks.push({
      check: "signature",
      ok: sigOk,
      detail: sigOk ? "ecdsa-p384-sha384 by the VCEK" : `the report's ECDSA P-384 signature does not verify with the VCEK ${spkiSha256(vcek).slice(0, 16)}…`,
    });
    const chipOk = bound.chipId.equals(report.chipId);
    const tcbOk = sameTcb(bound.tcb, report.reportedTcb);
    checks.push({
      check: "tcb",
      ok: chipOk && tcbOk,
      detail: !chipOk
        ? `the VCEK is for chip ${bound.chipId.toString("hex").slice(0, 16)}…, the report's CHIP_ID is ${report.chipId.toString("hex").slice(0, 16)}…`
        : !tcbOk
          ? `the VCEK is for TCB ${tcbText(bound.tcb)}, the report's REPORTED_TCB is ${tcbText(report.reportedTcb)}`
          : `VCEK for this CHIP_ID at REPORTED_TCB ${tcbText(report.reportedTcb)}`,
    });
    const want = Buffer.alloc(64);
    const n = Buffer.from(nonce);
    const nonceOk = n.length <= 64 && (n.copy(want), want.equals(report.reportData));
    checks.push({
      check: "nonce",
      ok: nonceOk,
      detail: nonceOk ? "REPORT_DATA is the verifier's nonce" : `REPORT_DATA ${report.reportData.toString("hex")} is not the nonce ${n.toString("hex")} (zero-padded to 64 bytes)`,
    });
    const debug = (report.policy & SNP_POLICY.debug) !== 0n;
    const policyBad =
      debug && !reference.allowDebug
        ? "the guest policy allows DEBUG (the host can read its memory)"
        : report.vmpl > reference.maxVmpl
          ? `VMPL ${report.vmpl} is above ${reference.maxVmpl}`
          : undefined;
    checks.push({ check: "policy", ok: !policyBad, detail: policyBad ?? `policy 0x${report.policy.toString(16)}${debug ? " (DEBUG allowed by the reference)" : ""}, VMPL ${report.vmpl}` });
    checks.push(referenceCheck(report, reference));
    const trusted = chained.ok && sigOk;
    return concluded(checks, { signer: spkiSha256(vcek), ...(trusted ? { claims: { snp: claimsOf(report) } } : {}) });
  },
};
