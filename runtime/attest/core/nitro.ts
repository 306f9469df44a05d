/**
 * AWS Nitro Enclaves attestation documents (aws-nitro-enclaves-nsm-api, "Attestation document specification";
 * AWS docs "Verifying the root of trust"): what an enclave gets from the Nitro Secure Module (NSM Attestation
 * request). A COSE_Sign1 (RFC 9052 §4.2) — `[protected: bstr, unprotected: map, payload: bstr, signature: bstr]`,
 * optionally under tag 18 — whose protected header names ES384 (alg -35) and whose payload is a CBOR map: module_id,
 * digest ("SHA384"), timestamp (ms), pcrs (index → 32/48/64-byte value), the signing certificate, the cabundle
 * (root first, then intermediates), and the optional public_key, user_data and nonce. A parser only: it checks the
 * shape and field sizes the specification gives, throws QuoteFormatError naming the field, and decides nothing.
 */
import { decode, encode } from "cborg";
import { QuoteFormatError } from "./tpm.js";

/** COSE algorithm identifier for ECDSA with SHA-384 (RFC 9053 §2.1; IANA COSE Algorithms). */
const COSE_ES384 = -35;
const COSE_ALG = 1;
/** The COSE_Sign1 tag (RFC 9052 §2). */
const COSE_SIGN1_TAG = 18;
/** ES384's signature: r ‖ s, each a 48-byte big-endian P-384 scalar (RFC 9053 §2.1). */
const ES384_SIGNATURE = 96;

export interface NitroDocument {
  moduleId: string;
  digest: string;
  /** Milliseconds since the epoch, when the NSM made the document. */
  timestamp: number;
  pcrs: Map<number, Buffer>;
  /** DER: the certificate whose key signed the document, then the bundle, root first. */
  certificate: Buffer;
  cabundle: Buffer[];
  publicKey?: Buffer;
  userData?: Buffer;
  nonce?: Buffer;
  /** The COSE Sig_structure the signature covers, and the signature as r ‖ s (IEEE P1363, what node:crypto verifies). */
  signed: Buffer;
  signature: Buffer;
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function bytes(doc: Map<unknown, unknown>, field: string, min: number, max: number, optional: true): Buffer | undefined;
function bytes(doc: Map<unknown, unknown>, field: string, min: number, max: number): Buffer;
function bytes(doc: Map<unknown, unknown>, field: string, min: number, max: number, optional = false): Buffer | undefined {
  const v = doc.get(field);
  if ((v === undefined || v === null) && optional) return undefined;
  if (!isBytes(v)) throw new QuoteFormatError(`Nitro attestation document: ${field} is ${v === undefined ? "missing" : "not a byte string"}`);
  if (v.length < min || v.length > max) throw new QuoteFormatError(`Nitro attestation document: ${field} is ${v.length} bytes; the specification allows ${min}–${max}`);
  return Buffer.from(v);
}

function decodeCbor(raw: Uint8Array, what: string): unknown {
  try {
    // Maps stay Maps (COSE headers and PCRs have integer keys); a duplicate key would let two readers disagree.
    return decode(raw, { useMaps: true, rejectDuplicateMapKeys: true, tags: { [COSE_SIGN1_TAG]: (inner: unknown) => inner } });
  } catch (e) {
    throw new QuoteFormatError(`${what}: not well-formed CBOR (${(e as Error).message})`);
  }
}

export function parseNitroDocument(raw: Uint8Array): NitroDocument {
  const cose = decodeCbor(raw, "Nitro attestation document");
  if (!Array.isArray(cose) || cose.length !== 4) throw new QuoteFormatError("Nitro attestation document: not a COSE_Sign1 (an array of 4)");
  const [protectedBytes, unprotected, payload, signature] = cose as unknown[];
  if (!isBytes(protectedBytes) || !(unprotected instanceof Map) || !isBytes(payload) || !isBytes(signature))
    throw new QuoteFormatError("Nitro attestation document: COSE_Sign1 fields are not [bstr, map, bstr, bstr]");
  const header = decodeCbor(protectedBytes, "Nitro attestation document: protected header");
  const alg = header instanceof Map ? header.get(COSE_ALG) : undefined;
  if (alg !== COSE_ES384) throw new QuoteFormatError(`Nitro attestation document: protected header alg is ${String(alg)}; expected -35 (ES384)`);
  if (signature.length !== ES384_SIGNATURE) throw new QuoteFormatError(`Nitro attestation document: signature is ${signature.length} bytes; ES384's is ${ES384_SIGNATURE}`);

  const doc = decodeCbor(payload, "Nitro attestation document: payload");
  if (!(doc instanceof Map)) throw new QuoteFormatError("Nitro attestation document: the payload is not a map");
  const moduleId = doc.get("module_id");
  if (typeof moduleId !== "string" || moduleId.length === 0) throw new QuoteFormatError("Nitro attestation document: module_id is missing or empty");
  const digest = doc.get("digest");
  if (digest !== "SHA384") throw new QuoteFormatError(`Nitro attestation document: digest is ${JSON.stringify(digest)}; the NSM uses SHA384`);
  const timestamp = doc.get("timestamp");
  if (typeof timestamp !== "number" || !Number.isSafeInteger(timestamp) || timestamp <= 0) throw new QuoteFormatError("Nitro attestation document: timestamp is not a positive integer");
  const rawPcrs = doc.get("pcrs");
  if (!(rawPcrs instanceof Map) || rawPcrs.size < 1 || rawPcrs.size > 32) throw new QuoteFormatError("Nitro attestation document: pcrs is not a map of 1–32 entries");
  const pcrs = new Map<number, Buffer>();
  for (const [i, v] of rawPcrs as Map<unknown, unknown>) {
    if (typeof i !== "number" || !Number.isInteger(i) || i < 0 || i > 31) throw new QuoteFormatError(`Nitro attestation document: PCR index ${String(i)} is not 0–31`);
    if (!isBytes(v) || ![32, 48, 64].includes(v.length)) throw new QuoteFormatError(`Nitro attestation document: PCR ${i} is not a 32, 48 or 64-byte value`);
    pcrs.set(i, Buffer.from(v));
  }
  const cabundle = doc.get("cabundle");
  if (!Array.isArray(cabundle) || cabundle.length === 0) throw new QuoteFormatError("Nitro attestation document: cabundle is not a non-empty array");
  const bundle = cabundle.map((c: unknown, i) => {
    if (!isBytes(c) || c.length < 1 || c.length > 1024) throw new QuoteFormatError(`Nitro attestation document: cabundle[${i}] is not a 1–1024-byte certificate`);
    return Buffer.from(c);
  });
  const out: NitroDocument = {
    moduleId,
    digest,
    timestamp,
    pcrs,
    certificate: bytes(doc, "certificate", 1, 1024),
    cabundle: bundle,
    signed: Buffer.from(encode(["Signature1", protectedBytes, new Uint8Array(0), payload])),
    signature: Buffer.from(signature),
  };
  const publicKey = bytes(doc, "public_key", 1, 1024, true);
  // The specification's first edition allowed 512 bytes of user_data and nonce; the NSM now takes up to 1024 of
  // each (the published sample carries 1024), as for public_key.
  const userData = bytes(doc, "user_data", 0, 1024, true);
  const nonce = bytes(doc, "nonce", 0, 1024, true);
  return { ...out, ...(publicKey ? { publicKey } : {}), ...(userData ? { userData } : {}), ...(nonce ? { nonce } : {}) };
}
