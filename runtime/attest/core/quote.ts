/**
 * Appraisal of TPM 2.0 quote evidence (IETF RATS RFC 9334: the verifier's job). It checks what
 * `tpm2_checkquote` checks — the attestation key's signature over the TPMS_ATTEST, the magic
 * TPM_GENERATED_VALUE, the type TPM_ST_ATTEST_QUOTE, extraData equal to the verifier's nonce, and pcrDigest
 * equal to the hash of the PCR values in selection order — and then the PCR values against the reference
 * values. Pure: no clock, no I/O; the nonce's freshness is the caller's (nonce.ts). Every check is reported,
 * and the first failing one is the reason.
 */
import { createHash, createPublicKey, constants, timingSafeEqual, verify, type KeyObject, type VerifyKeyObjectInput } from "node:crypto";
import { z } from "zod";
import {
  HASH_ALGS,
  parseAttest,
  parsePcrValues,
  parseSignature,
  QuoteFormatError,
  TPM_ALG_ECDSA,
  TPM_ALG_RSAPSS,
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE,
  type PcrSelection,
  type QuoteSignature,
} from "./tpm.js";

/** The three files `tpm2_quote -m/-s/-o` writes. */
export type QuoteEvidence = {
  message: Uint8Array;
  signature: Uint8Array;
  pcrs: Uint8Array;
};

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
/** Reference values as `{"sha256": {"0": "hex", …}}` (RATS: from the reference value provider). */
export const referenceSchema = z
  .partialRecord(
    z.enum(Object.values(HASH_ALGS).map((a) => a.name) as [string, ...string[]]),
    z.record(z.string().regex(/^(?:[0-9]|1[0-9]|2[0-3])$/, "a PCR index 0-23"), z.string().regex(HEX, "hex")),
  )
  .refine((r) => Object.values(r).some((bank) => Object.keys(bank ?? {}).length > 0), "names no PCR: an empty reference would accept any platform state");
export type ReferenceValues = z.output<typeof referenceSchema>;

export interface QuoteCheck {
  check: "format" | "signature" | "magic" | "type" | "nonce" | "selection" | "pcrDigest" | "reference";
  ok: boolean;
  detail: string;
}

export interface QuoteAppraisal {
  accepted: boolean;
  /** The first failing check's detail (absent when accepted). */
  reason?: string;
  checks: QuoteCheck[];
  /** The PCR values the quote vouches for (only once the signature and digest hold), bank → index → hex. */
  pcrs?: Record<string, Record<string, string>>;
  signatureScheme?: string;
  clock?: { clock: string; resetCount: number; restartCount: number; safe: boolean; firmwareVersion: string };
}

/** The AK public key as `tpm2_readpublic -f pem` writes it (SPKI PEM), or a KeyObject. */
export function attestationKey(ak: string | KeyObject): KeyObject {
  if (typeof ak !== "string") return ak;
  try {
    const key = createPublicKey(ak);
    if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "ec") throw new Error(`a ${key.asymmetricKeyType} key; a TPM AK is RSA or ECC`);
    return key;
  } catch (e) {
    throw new QuoteFormatError(`attestation key: not a PEM public key (${(e as Error).message})`);
  }
}

/** SHA-256 of the AK's SubjectPublicKeyInfo (DER), hex: how results and registries name an AK. */
export function akFingerprint(ak: KeyObject): string {
  return createHash("sha256")
    .update(ak.export({ format: "der", type: "spki" }))
    .digest("hex");
}

const CURVE_BYTES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

function checkSignature(sig: QuoteSignature, key: KeyObject, data: Buffer, plainHash: string): { ok: boolean; scheme: string } {
  const attempt = (hash: string, opts: VerifyKeyObjectInput, s: Buffer): boolean => {
    try {
      return verify(hash, data, opts, s);
    } catch {
      return false; // a key of the wrong type or size: not this key's signature
    }
  };
  if (sig.format === "plain") {
    if (key.asymmetricKeyType === "ec") return { ok: attempt(plainHash, { key, dsaEncoding: "der" }, sig.sig), scheme: `ecdsa-${plainHash} (plain)` };
    if (attempt(plainHash, { key, padding: constants.RSA_PKCS1_PADDING }, sig.sig)) return { ok: true, scheme: `rsassa-${plainHash} (plain)` };
    return { ok: attempt(plainHash, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig.sig), scheme: `rsapss-${plainHash} (plain)` };
  }
  const hash = HASH_ALGS[sig.hash]!.name;
  if (sig.alg === TPM_ALG_ECDSA) {
    const size = CURVE_BYTES[key.asymmetricKeyDetails?.namedCurve ?? ""];
    if (key.asymmetricKeyType !== "ec" || !size || sig.r.length > size || sig.s.length > size) return { ok: false, scheme: `ecdsa-${hash}` };
    const pad = (b: Buffer) => Buffer.concat([Buffer.alloc(size - b.length), b]);
    return { ok: attempt(hash, { key, dsaEncoding: "ieee-p1363" }, Buffer.concat([pad(sig.r), pad(sig.s)])), scheme: `ecdsa-${hash}` };
  }
  if (key.asymmetricKeyType !== "rsa") return { ok: false, scheme: sig.alg === TPM_ALG_RSAPSS ? `rsapss-${hash}` : `rsassa-${hash}` };
  if (sig.alg === TPM_ALG_RSAPSS) return { ok: attempt(hash, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig.sig), scheme: `rsapss-${hash}` };
  return { ok: attempt(hash, { key, padding: constants.RSA_PKCS1_PADDING }, sig.sig), scheme: `rsassa-${hash}` };
}

const sameSelection = (a: PcrSelection[], b: PcrSelection[]) => JSON.stringify(a) === JSON.stringify(b);
const describeSelection = (s: PcrSelection[]) => s.map((b) => `${HASH_ALGS[b.hash]?.name ?? `0x${b.hash.toString(16)}`}:${b.pcrs.join(",")}`).join("+") || "none";

/**
 * Appraise a quote: `nonce` is the verifier-issued nonce the quote must carry in extraData (undefined in
 * timestamp mode, where the TPM clock stands for freshness: timestamp.ts); `plainHash` the
 * hash of a `-f plain` signature and of the PCR digest (tpm2_checkquote's `-g`, default sha256).
 */
export function appraiseQuote(evidence: QuoteEvidence, ak: string | KeyObject, nonce: Uint8Array | undefined, reference: ReferenceValues, plainHash = "sha256"): QuoteAppraisal {
  const checks: QuoteCheck[] = [];
  const done = (extra: Partial<QuoteAppraisal> = {}): QuoteAppraisal => {
    const failed = checks.find((c) => !c.ok);
    return { accepted: !failed, ...(failed ? { reason: `${failed.check}: ${failed.detail}` } : {}), checks, ...extra };
  };
  let key: KeyObject, attest, sig, values;
  try {
    key = attestationKey(ak);
    attest = parseAttest(evidence.message);
    sig = parseSignature(evidence.signature);
    values = parsePcrValues(evidence.pcrs);
  } catch (e) {
    if (!(e instanceof QuoteFormatError)) throw e;
    checks.push({ check: "format", ok: false, detail: e.message });
    return done();
  }
  const message = Buffer.from(evidence.message);
  const signed = message.readUInt32BE(0) === TPM_GENERATED_VALUE ? message : message.subarray(2); // the TPMS_ATTEST, without a TPM2B size
  const s = checkSignature(sig, key, signed, plainHash);
  checks.push({
    check: "signature",
    ok: s.ok,
    detail: s.ok ? `${s.scheme} by the attestation key` : `the ${s.scheme} signature does not verify with the attestation key ${akFingerprint(key).slice(0, 16)}…`,
  });
  const clock = {
    clock: attest.clock.clock.toString(),
    resetCount: attest.clock.resetCount,
    restartCount: attest.clock.restartCount,
    safe: attest.clock.safe,
    firmwareVersion: attest.firmwareVersion.toString(),
  };
  checks.push({
    check: "magic",
    ok: attest.magic === TPM_GENERATED_VALUE,
    detail: `0x${attest.magic.toString(16)}${attest.magic === TPM_GENERATED_VALUE ? "" : "; expected TPM_GENERATED_VALUE 0xff544347 (not a structure the TPM generated)"}`,
  });
  checks.push({ check: "type", ok: attest.type === TPM_ST_ATTEST_QUOTE, detail: `0x${attest.type.toString(16)}${attest.type === TPM_ST_ATTEST_QUOTE ? "" : "; expected TPM_ST_ATTEST_QUOTE 0x8018"}` });
  if (nonce === undefined) {
    checks.push({ check: "nonce", ok: true, detail: `none (timestamp mode); extraData ${attest.extraData.toString("hex") || "(empty)"}` });
  } else {
    const n = Buffer.from(nonce);
    const nonceOk = attest.extraData.length === n.length && timingSafeEqual(attest.extraData, n);
    checks.push({
      check: "nonce",
      ok: nonceOk,
      detail: nonceOk ? "extraData is the verifier's nonce" : `extraData ${attest.extraData.toString("hex") || "(empty)"} is not the nonce ${n.toString("hex")}`,
    });
  }
  const quoted = attest.quote?.selection ?? [];
  const selOk = sameSelection(quoted, values.selection);
  checks.push({
    check: "selection",
    ok: selOk,
    detail: selOk ? describeSelection(quoted) : `the quote selects ${describeSelection(quoted)} but the PCR values file holds ${describeSelection(values.selection)}`,
  });
  const digestHash = sig.format === "tss" ? HASH_ALGS[sig.hash]!.name : plainHash;
  const h = createHash(digestHash);
  for (const bank of values.selection) for (const pcr of bank.pcrs) h.update(values.values[HASH_ALGS[bank.hash]!.name]![pcr]!);
  const calc = h.digest();
  const quotedDigest = attest.quote?.pcrDigest ?? Buffer.alloc(0);
  const digestOk = calc.equals(quotedDigest);
  checks.push({
    check: "pcrDigest",
    ok: digestOk,
    detail: digestOk
      ? `${digestHash} ${calc.toString("hex")}`
      : `the PCR values hash to ${calc.toString("hex")}; the quote's pcrDigest is ${quotedDigest.toString("hex")} (values not the ones quoted)`,
  });
  const pcrs: Record<string, Record<string, string>> = {};
  for (const [bank, vals] of Object.entries(values.values)) pcrs[bank] = Object.fromEntries(Object.entries(vals).map(([i, v]) => [i, v.toString("hex")]));
  const mismatches: string[] = [];
  for (const [bank, refs] of Object.entries(reference)) {
    for (const [pcr, want] of Object.entries(refs ?? {})) {
      const got = pcrs[bank]?.[pcr];
      if (got === undefined) mismatches.push(`${bank} PCR ${pcr} is not in the quote`);
      else if (got !== want.toLowerCase()) mismatches.push(`${bank} PCR ${pcr} is ${got}; the reference is ${want.toLowerCase()}`);
    }
  }
  const count = Object.values(reference).reduce((t, b) => t + Object.keys(b ?? {}).length, 0);
  checks.push({ check: "reference", ok: mismatches.length === 0, detail: mismatches.length === 0 ? `${count} PCR values match the reference` : mismatches.join("; ") });
  const trusted = s.ok && digestOk && selOk;
  return done({ signatureScheme: s.scheme, clock, ...(trusted ? { pcrs } : {}) });
}
