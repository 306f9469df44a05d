/**
 * TPM 2.0 structures as tpm2-tools writes them for a quote (TCG TPM 2.0 Part 2, "Structures"):
 *   - `tpm2_quote -m`: the TPMS_ATTEST the TPM signed (the body of the TPM2B_ATTEST; a leading 2-byte size is accepted too);
 *   - `tpm2_quote -s`: a TPMT_SIGNATURE (the default "tss" format) or the bare signature (`-f plain`: RSA bytes, ECDSA DER);
 *   - `tpm2_quote -o`: tpm2-tools' PCR values file: its in-memory TPML_PCR_SELECTION, a uint32 count, then that many
 *     TPML_DIGEST, all as host-order C structs (little-endian x86/arm64, padded arrays) — not TPM marshalling.
 * Parsers only: they throw QuoteFormatError naming the field; nothing here decides whether a quote is good.
 */

export class QuoteFormatError extends Error {
  override name = "QuoteFormatError";
}

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;

/** TPM_ALG_ID of the hashes a PCR bank or a signing scheme may use, with node:crypto's names and sizes. */
export const HASH_ALGS: Readonly<Record<number, { name: string; size: number }>> = {
  0x0004: { name: "sha1", size: 20 },
  0x000b: { name: "sha256", size: 32 },
  0x000c: { name: "sha384", size: 48 },
  0x000d: { name: "sha512", size: 64 },
};

export const TPM_ALG_RSASSA = 0x0014;
export const TPM_ALG_RSAPSS = 0x0016;
export const TPM_ALG_ECDSA = 0x0018;

/** One PCR bank's selection: the hash and the PCR indices, ascending (the order the TPM digests them in). */
export interface PcrSelection {
  hash: number;
  pcrs: number[];
}

export interface Attest {
  magic: number;
  type: number;
  qualifiedSigner: Buffer;
  extraData: Buffer;
  clock: { clock: bigint; resetCount: number; restartCount: number; safe: boolean };
  firmwareVersion: bigint;
  /** TPMS_QUOTE_INFO (only when type is TPM_ST_ATTEST_QUOTE). */
  quote?: { selection: PcrSelection[]; pcrDigest: Buffer };
}

class Reader {
  private off = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}
  private need(n: number, field: string): void {
    if (this.off + n > this.buf.length) throw new QuoteFormatError(`${this.what}: truncated at ${field} (offset ${this.off}, ${this.buf.length} bytes)`);
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf.readUInt8(this.off++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return Buffer.from(v);
  }
  tpm2b(field: string): Buffer {
    return this.bytes(this.u16(`${field}.size`), field);
  }
  get done(): boolean {
    return this.off === this.buf.length;
  }
}

function selectBits(hash: number, bitmap: Buffer): PcrSelection {
  const pcrs: number[] = [];
  for (let i = 0; i < bitmap.length * 8; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) pcrs.push(i);
  return { hash, pcrs };
}

/** TPMS_ATTEST from `tpm2_quote -m` (or a whole TPM2B_ATTEST). Trailing bytes are an error. */
export function parseAttest(raw: Uint8Array): Attest {
  let buf = Buffer.from(raw);
  if (buf.length >= 2 && buf.readUInt16BE(0) === buf.length - 2 && buf.readUInt32BE(0) !== TPM_GENERATED_VALUE) buf = buf.subarray(2);
  const r = new Reader(buf, "quote message (TPMS_ATTEST)");
  const magic = r.u32("magic");
  const type = r.u16("type");
  const qualifiedSigner = r.tpm2b("qualifiedSigner");
  const extraData = r.tpm2b("extraData");
  const clock = { clock: r.u64("clockInfo.clock"), resetCount: r.u32("clockInfo.resetCount"), restartCount: r.u32("clockInfo.restartCount"), safe: r.u8("clockInfo.safe") === 1 };
  const firmwareVersion = r.u64("firmwareVersion");
  const out: Attest = { magic, type, qualifiedSigner, extraData, clock, firmwareVersion };
  if (type === TPM_ST_ATTEST_QUOTE) {
    const count = r.u32("pcrSelect.count");
    if (count > 16) throw new QuoteFormatError(`quote message (TPMS_ATTEST): ${count} PCR banks selected; at most 16`);
    const selection: PcrSelection[] = [];
    for (let i = 0; i < count; i++) {
      const hash = r.u16(`pcrSelect[${i}].hash`);
      selection.push(selectBits(hash, r.bytes(r.u8(`pcrSelect[${i}].sizeofSelect`), `pcrSelect[${i}].pcrSelect`)));
    }
    out.quote = { selection, pcrDigest: r.tpm2b("pcrDigest") };
  }
  if (!r.done) throw new QuoteFormatError("quote message (TPMS_ATTEST): trailing bytes after the structure");
  return out;
}

export type QuoteSignature =
  | { format: "tss"; alg: typeof TPM_ALG_RSASSA | typeof TPM_ALG_RSAPSS; hash: number; sig: Buffer }
  | { format: "tss"; alg: typeof TPM_ALG_ECDSA; hash: number; r: Buffer; s: Buffer }
  /** `-f plain`: the scheme and hash come from the key and the caller (tpm2_checkquote's -g). */
  | { format: "plain"; sig: Buffer };

/** TPMT_SIGNATURE (tpm2-tools' default "tss" format), else the bare signature `-f plain` writes. */
export function parseSignature(raw: Uint8Array): QuoteSignature {
  const buf = Buffer.from(raw);
  try {
    const r = new Reader(buf, "signature (TPMT_SIGNATURE)");
    const alg = r.u16("sigAlg");
    const hash = r.u16("hash");
    if (HASH_ALGS[hash]) {
      if (alg === TPM_ALG_RSASSA || alg === TPM_ALG_RSAPSS) {
        const sig = r.tpm2b("sig");
        if (r.done) return { format: "tss", alg, hash, sig };
      } else if (alg === TPM_ALG_ECDSA) {
        const rr = r.tpm2b("signatureR");
        const s = r.tpm2b("signatureS");
        if (r.done) return { format: "tss", alg, hash, r: rr, s };
      }
    }
  } catch (e) {
    if (!(e instanceof QuoteFormatError)) throw e;
  }
  if (buf.length === 0) throw new QuoteFormatError("signature: empty file");
  return { format: "plain", sig: buf };
}

export interface PcrValues {
  selection: PcrSelection[];
  /** Bank (node:crypto hash name) → PCR index → value. */
  values: Record<string, Record<number, Buffer>>;
}

const PCR_SELECT_MAX = 4; // TPM2_PCR_SELECT_MAX in tss2 (24 PCRs per bank, rounded up to a 4-byte array)
const NUM_PCR_BANKS = 16; // TPM2_NUM_PCR_BANKS
const SELECTION_STRUCT = 8; // sizeof(TPMS_PCR_SELECTION): u16 hash, u8 sizeofSelect, u8[4], padding
const SELECTION_LIST = 4 + NUM_PCR_BANKS * SELECTION_STRUCT;
const DIGEST_STRUCT = 2 + 64; // sizeof(TPM2B_DIGEST): u16 size, u8[sizeof(TPMU_HA)]
const DIGEST_LIST = 4 + 8 * DIGEST_STRUCT; // TPML_DIGEST: u32 count, TPM2B_DIGEST[8]

/** tpm2-tools' PCR values file (`tpm2_quote -o`, `tpm2_pcrread -o`): values in selection order. */
export function parsePcrValues(raw: Uint8Array): PcrValues {
  const buf = Buffer.from(raw);
  const what = "PCR values file";
  if (buf.length < SELECTION_LIST + 4) throw new QuoteFormatError(`${what}: ${buf.length} bytes; expected at least ${SELECTION_LIST + 4} (TPML_PCR_SELECTION and a count)`);
  const banks = buf.readUInt32LE(0);
  if (banks > NUM_PCR_BANKS) throw new QuoteFormatError(`${what}: ${banks} PCR banks; at most ${NUM_PCR_BANKS}`);
  const selection: PcrSelection[] = [];
  for (let i = 0; i < banks; i++) {
    const at = 4 + i * SELECTION_STRUCT;
    const size = buf.readUInt8(at + 2);
    if (size > PCR_SELECT_MAX) throw new QuoteFormatError(`${what}: bank ${i} selects ${size} bytes of PCRs; at most ${PCR_SELECT_MAX}`);
    selection.push(selectBits(buf.readUInt16LE(at), buf.subarray(at + 3, at + 3 + size)));
  }
  const lists = buf.readUInt32LE(SELECTION_LIST);
  if (buf.length !== SELECTION_LIST + 4 + lists * DIGEST_LIST) {
    throw new QuoteFormatError(`${what}: ${buf.length} bytes; ${lists} digest lists need ${SELECTION_LIST + 4 + lists * DIGEST_LIST}`);
  }
  const digests: Buffer[] = [];
  for (let l = 0; l < lists; l++) {
    const at = SELECTION_LIST + 4 + l * DIGEST_LIST;
    const count = buf.readUInt32LE(at);
    if (count > 8) throw new QuoteFormatError(`${what}: digest list ${l} holds ${count} digests; at most 8`);
    for (let d = 0; d < count; d++) {
      const dat = at + 4 + d * DIGEST_STRUCT;
      const size = buf.readUInt16LE(dat);
      if (size > 64) throw new QuoteFormatError(`${what}: digest ${digests.length} is ${size} bytes; at most 64`);
      digests.push(Buffer.from(buf.subarray(dat + 2, dat + 2 + size)));
    }
  }
  const values: Record<string, Record<number, Buffer>> = {};
  let next = 0;
  for (const bank of selection) {
    const alg = HASH_ALGS[bank.hash];
    if (!alg) throw new QuoteFormatError(`${what}: unknown PCR bank hash 0x${bank.hash.toString(16)}`);
    const vals = (values[alg.name] ??= {});
    for (const pcr of bank.pcrs) {
      const v = digests[next++];
      if (!v) throw new QuoteFormatError(`${what}: ${digests.length} values for a selection of more PCRs`);
      if (v.length !== alg.size) throw new QuoteFormatError(`${what}: ${alg.name} PCR ${pcr} value is ${v.length} bytes; expected ${alg.size}`);
      vals[pcr] = v;
    }
  }
  if (next !== digests.length) throw new QuoteFormatError(`${what}: ${digests.length} values for a selection of ${next} PCRs`);
  return { selection, values };
}
