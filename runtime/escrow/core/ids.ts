/**
 * Reservation ids: `<region>~<sku>~<incarnation><seq>-<token>`. The region and SKU let any region route
 * a commit or cancel to the process holding the reservation (or answer it from the store once sold);
 * the incarnation nonce (8 hex digits, random per process start) and the base-36 sequence number let
 * that process find the reservation in O(1); the token (96 bits, `ReservationTokens`) makes the id unguessable
 * — a forged id names no reservation — and lets the issuing ledger check, with no memory of the reservation,
 * that it issued the id and to which buyer. `~` cannot occur in a region id or a SKU, so the id splits
 * unambiguously.
 */
import { createCipheriv, randomBytes, randomFillSync, type Cipheriv } from "node:crypto";

export const REGION_ID = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
export const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ID = /^([a-z][a-z0-9-]{0,38}[a-z0-9])~([A-Za-z0-9][A-Za-z0-9._-]{0,63})~([0-9a-f]{8})([0-9a-z]{1,11})-([A-Za-z0-9_-]{16})$/;
/** Longest id: region 40 + SKU 64 + nonce 8 + seq 11 + token 16 + separators. */
export const MAX_RESERVATION_ID_LENGTH = 40 + 64 + 8 + 11 + 16 + 3;

export interface ParsedReservationId {
  region: string;
  sku: string;
  incarnation: string;
  seq: number;
  token: string;
}

export function reservationPrefix(region: string, sku: string, incarnation: string): string {
  return `${region}~${sku}~${incarnation}`;
}

export function parseReservationId(id: string): ParsedReservationId | null {
  const m = ID.exec(id);
  if (!m) return null;
  const seq = parseInt(m[4]!, 36);
  return Number.isSafeInteger(seq) ? { region: m[1]!, sku: m[2]!, incarnation: m[3]!, seq, token: m[5]! } : null;
}

/** Random tokens drawn from a refilled pool, so the fast path makes no system call per reservation. */
export class TokenSource {
  private buf = Buffer.alloc(12 * 4096);
  private at = this.buf.length;

  next(): string {
    if (this.at === this.buf.length) {
      randomFillSync(this.buf);
      this.at = 0;
    }
    const t = this.buf.toString("base64url", this.at, this.at + 12);
    this.at += 12;
    return t;
  }
}

export function incarnationNonce(): string {
  return randomFillSync(Buffer.alloc(4)).toString("hex");
}

/** Sequence numbers whose blocks are enciphered at once (4 KiB a ledger): the fast path pays one cipher call per 256 reservations. */
const BLOCKS = 256;

/**
 * The tokens of one ledger's reservation ids: 72 bits that only this ledger can make for a sequence number (the first
 * 9 bytes of AES-128, under a key drawn when the ledger starts, of the sequence number), then 24 bits binding the
 * buyer (the buyer's id mixed with the block's other 7 bytes). Long after the ledger has forgotten a reservation (its
 * expiry sweep keeps no per-id memory), `check` still tells a forged id from one it issued, and its owner from another
 * buyer; a new process (a new key) recognises none of its predecessor's ids. The buyer tag only decides which refusal
 * a genuine, swept id gets (410 for its owner — 409 if it was voided, `SweptVoids` — 403 for anyone else, 410 by a 2^-24 chance); it grants nothing, so it
 * need not be a MAC. Live ids are still compared whole with the token the ledger keeps.
 */
export class ReservationTokens {
  // ECB enciphers each block on its own, so one cipher serves every call and is never finalised.
  private readonly aes: Cipheriv;
  private blocksAt = 0;
  private raw: Buffer = Buffer.alloc(0);
  private readonly out = Buffer.alloc(12);

  constructor(key: Buffer = randomBytes(16)) {
    this.aes = createCipheriv("aes-128-ecb", key, null);
    this.aes.setAutoPadding(false);
  }

  private blocks(seq: number, n: number): Buffer {
    const counters = Buffer.alloc(16 * n);
    for (let j = 0; j < n; j++) {
      counters.writeUInt32BE(Math.floor((seq + j) / 2 ** 32), 16 * j + 8);
      counters.writeUInt32BE((seq + j) >>> 0, 16 * j + 12);
    }
    return this.aes.update(counters);
  }

  /** The token of reservation `seq` of `user`. */
  issue(seq: number, user: string): string {
    if (this.raw.length === 0 || seq < this.blocksAt || seq >= this.blocksAt + BLOCKS) {
      this.blocksAt = seq - (seq % BLOCKS);
      this.raw = this.blocks(this.blocksAt, BLOCKS);
    }
    const at = 16 * (seq - this.blocksAt);
    this.raw.copy(this.out, 0, at, at + 9);
    this.out.writeUIntBE(ownerTag(this.raw, at, user), 9, 3);
    return this.out.toString("base64url");
  }

  /** Whether `token` (16 base64url characters) is this ledger's for `seq`: `forged` if not, else whether `user` owns it. */
  check(seq: number, token: string, user: string): "forged" | "foreign" | "owner" {
    const t = Buffer.from(token, "base64url");
    const b = this.blocks(seq, 1);
    if (t.length !== 12 || !t.subarray(0, 9).equals(b.subarray(0, 9))) return "forged";
    return t.readUIntBE(9, 3) === ownerTag(b, 0, user) ? "owner" : "foreign";
  }
}

/** 24 bits of `user` mixed with the 7 secret bytes of its block that the ledger tag does not show (murmur-style rounds and finaliser). */
function ownerTag(block: Buffer, at: number, user: string): number {
  let h = (block.readUInt32BE(at + 12) ^ user.length) | 0;
  for (let i = 0; i < user.length; i++) {
    h = Math.imul(h ^ user.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ block.readUIntBE(at + 9, 3), 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 8;
}

/** Spans kept: voids are rare (a lost lease, a rebuilt store); past this many, the oldest voided ids answer expired. */
const MAX_VOID_SPANS = 64;

/**
 * The sequence numbers of voided reservations that a ledger's sweep has dropped from its window (ledger.ts): one bitmap
 * per compaction that dropped any, spanning its first to its last voided id (a bit per id between: at most the window at
 * the void, an eighth of a byte each). A token says only who was issued an id; whether it was voided rather than let
 * expire is not in it, so without these a voided reservation's owner was told 410 expired once the sweep forgot it.
 */
export class SweptVoids {
  private readonly spans: { from: number; bits: Uint8Array }[] = [];

  /** Record voided sequence numbers, ascending. */
  add(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    const from = seqs[0]!;
    const bits = new Uint8Array(((seqs.at(-1)! - from) >> 3) + 1);
    for (const s of seqs) bits[(s - from) >> 3]! |= 1 << ((s - from) & 7);
    this.spans.push({ from, bits });
    if (this.spans.length > MAX_VOID_SPANS) this.spans.shift();
  }

  has(seq: number): boolean {
    for (const { from, bits } of this.spans) {
      const i = seq - from;
      if (i >= 0 && i >> 3 < bits.length && (bits[i >> 3]! & (1 << (i & 7))) !== 0) return true;
    }
    return false;
  }
}
