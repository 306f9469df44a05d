/**
 * AMD SEV-SNP attestation reports (AMD SEV Secure Nested Paging Firmware ABI Specification, "ATTESTATION_REPORT
 * Structure"): what a guest gets from the PSP through /dev/sev-guest (SNP_GET_REPORT). 1184 bytes, little-endian;
 * bytes 0x000–0x29F are signed with ECDSA P-384/SHA-384 by the chip's VCEK, whose r and s follow as 72-byte
 * little-endian integers. A parser only: it throws QuoteFormatError naming the field, and decides nothing.
 */
import { QuoteFormatError } from "./tpm.js";

const SNP_REPORT_SIZE = 0x4a0;
/** The signed part of the report: everything before the signature. */
const SNP_SIGNED_SIZE = 0x2a0;
const SIG_COMPONENT = 72; // r and s are 72-byte little-endian fields; a P-384 scalar uses the low 48
const P384_BYTES = 48;
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384, the only algorithm the ABI defines. */
const SIG_ALGO_ECDSA_P384_SHA384 = 1;

/** TCB_VERSION (Milan/Genoa layout): the security patch levels the VCEK is derived from. */
export interface SnpTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Buffer;
  imageId: Buffer;
  vmpl: number;
  currentTcb: SnpTcb;
  platformInfo: bigint;
  /** Bits 2–4 of the flags word: 0 = VCEK, 1 = VLEK. */
  signingKey: "vcek" | "vlek" | "none";
  maskChipKey: boolean;
  reportData: Buffer;
  measurement: Buffer;
  hostData: Buffer;
  idKeyDigest: Buffer;
  authorKeyDigest: Buffer;
  reportId: Buffer;
  reportedTcb: SnpTcb;
  chipId: Buffer;
  launchTcb: SnpTcb;
  /** The bytes the VCEK signed, and the signature as big-endian r‖s (IEEE P1363, what node:crypto verifies). */
  signed: Buffer;
  signature: Buffer;
}

/** Guest policy bits (ABI "GUEST_POLICY"): the ones an appraisal cares about. */
export const SNP_POLICY = { smt: 1n << 16n, migrateMa: 1n << 18n, debug: 1n << 19n, singleSocket: 1n << 20n } as const;

const tcb = (b: Buffer, at: number): SnpTcb => ({ bootloader: b[at]!, tee: b[at + 1]!, snp: b[at + 6]!, microcode: b[at + 7]! });

/** A little-endian 72-byte signature component as a big-endian P-384 scalar; its high bytes must be zero. */
function scalar(raw: Buffer, field: string): Buffer {
  if (!raw.subarray(P384_BYTES).every((x) => x === 0)) throw new QuoteFormatError(`SEV-SNP report: signature ${field} is wider than a P-384 scalar`);
  return Buffer.from(raw.subarray(0, P384_BYTES)).reverse();
}

export function parseSnpReport(raw: Uint8Array): SnpReport {
  const b = Buffer.from(raw);
  if (b.length !== SNP_REPORT_SIZE) throw new QuoteFormatError(`SEV-SNP report: ${b.length} bytes; an ATTESTATION_REPORT is ${SNP_REPORT_SIZE}`);
  const version = b.readUInt32LE(0x00);
  if (version < 2) throw new QuoteFormatError(`SEV-SNP report: version ${version}; expected 2 or later`);
  const algo = b.readUInt32LE(0x34);
  if (algo !== SIG_ALGO_ECDSA_P384_SHA384) throw new QuoteFormatError(`SEV-SNP report: SIGNATURE_ALGO ${algo}; expected 1 (ECDSA P-384 with SHA-384)`);
  const flags = b.readUInt32LE(0x48);
  const keySel = (flags >> 2) & 0x7;
  const sig = b.subarray(SNP_SIGNED_SIZE);
  if (!sig.subarray(2 * SIG_COMPONENT).every((x) => x === 0)) throw new QuoteFormatError("SEV-SNP report: reserved bytes after the signature are not zero");
  return {
    version,
    guestSvn: b.readUInt32LE(0x04),
    policy: b.readBigUInt64LE(0x08),
    familyId: Buffer.from(b.subarray(0x10, 0x20)),
    imageId: Buffer.from(b.subarray(0x20, 0x30)),
    vmpl: b.readUInt32LE(0x30),
    currentTcb: tcb(b, 0x38),
    platformInfo: b.readBigUInt64LE(0x40),
    signingKey: keySel === 0 ? "vcek" : keySel === 1 ? "vlek" : "none",
    maskChipKey: (flags & 0x2) !== 0,
    reportData: Buffer.from(b.subarray(0x50, 0x90)),
    measurement: Buffer.from(b.subarray(0x90, 0xc0)),
    hostData: Buffer.from(b.subarray(0xc0, 0xe0)),
    idKeyDigest: Buffer.from(b.subarray(0xe0, 0x110)),
    authorKeyDigest: Buffer.from(b.subarray(0x110, 0x140)),
    reportId: Buffer.from(b.subarray(0x140, 0x160)),
    reportedTcb: tcb(b, 0x180),
    chipId: Buffer.from(b.subarray(0x1a0, 0x1e0)),
    launchTcb: tcb(b, 0x1f0),
    signed: Buffer.from(b.subarray(0, SNP_SIGNED_SIZE)),
    signature: Buffer.concat([scalar(sig.subarray(0, SIG_COMPONENT), "r"), scalar(sig.subarray(SIG_COMPONENT, 2 * SIG_COMPONENT), "s")]),
  };
}
