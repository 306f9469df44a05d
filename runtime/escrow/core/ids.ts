/**
 * Reservation ids: `<region>~<sku>~<incarnation><seq>-<token>`. The region and SKU let any region route
 * a commit or cancel to the process holding the reservation (or answer it from the store once sold);
 * the incarnation nonce (8 hex digits, random per process start) and the base-36 sequence number let
 * that process find the reservation in O(1); the token (96 bits, `ReservationTokens`) makes the id unguessable
 * — a forged id names no reservation — and lets the issuing ledger check, with no memory of the reservation,
 * that it issued the id and to which buyer — and a later process on the same store, which buyer (`ownsToken`: an
 * earlier run's reservation is gone for its owner, unknown to anyone else). `~` cannot occur in a region id or a SKU,
 * so the id splits unambiguously.
 */
import { createCipheriv, createHmac, randomBytes, randomFillSync, type Cipheriv } from "node:crypto";

export const REGION_ID = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
export const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/**
 * An id's tail: the sequence number as the ledger writes it (`seq.toString(36)`, no leading zero) and the token. Another
 * spelling of an id is no id, or one reservation would answer to several ids and its sale be recorded under whichever
 * was committed. The ledger (ledger.ts) and `parseReservationId` read ids by this one grammar.
 */
export const SEQ_TOKEN = /^(0|[1-9a-z][0-9a-z]{0,10})-([A-Za-z0-9_-]{16})$/;
const ID = new RegExp(`^([a-z][a-z0-9-]{0,38}[a-z0-9])~([A-Za-z0-9][A-Za-z0-9._-]{0,63})~([0-9a-f]{8})${SEQ_TOKEN.source.slice(1)}`);
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
 * The key of the owner tags of a ledger's ids (16 bytes): HMAC-SHA256 of the ledger's id prefix (region, SKU,
 * incarnation nonce) under the store's reservation secret (`EscrowStore.reservationSecret`, kept with the store, so
 * it outlives the process). Any later process on the same store derives the same key from an id's prefix, and so can
 * tell an earlier run's reservation's owner from everyone else with no memory of the reservation.
 */
export function ownerTagKey(secret: Buffer, idPrefix: string): Buffer {
  return createHmac("sha256", secret).update(`meridian-escrow/reservation-owner/v1\n${idPrefix}`).digest().subarray(0, 16);
}

function aes(key: Buffer): Cipheriv {
  // ECB enciphers each block on its own, so one cipher serves every call and is never finalised.
  const c = createCipheriv("aes-128-ecb", key, null);
  c.setAutoPadding(false);
  return c;
}

function counterBlocks(cipher: Cipheriv, seq: number, n: number): Buffer {
  const counters = Buffer.alloc(16 * n);
  for (let j = 0; j < n; j++) {
    counters.writeUInt32BE(Math.floor((seq + j) / 2 ** 32), 16 * j + 8);
    counters.writeUInt32BE((seq + j) >>> 0, 16 * j + 12);
  }
  return cipher.update(counters);
}

/**
 * Whether `token` binds reservation `seq` of the ledger whose owner tag key is `ownerKey` to `user` — all a later
 * process can check of an earlier run's id (its ledger key died with it): 24 bits, so a made-up token passes for its
 * maker by a 2^-24 chance. It decides only which refusal an id gets (410 for its owner, 404 for anyone else); it grants
 * nothing.
 */
export function ownsToken(ownerKey: Buffer, seq: number, token: string, user: string): boolean {
  const t = Buffer.from(token, "base64url");
  return t.length === 12 && t.readUIntBE(9, 3) === ownerTag(counterBlocks(aes(ownerKey), seq, 1), 0, user, t);
}

/**
 * The tokens of one ledger's reservation ids: 72 bits that only this ledger can make for a sequence number (the first
 * 9 bytes of AES-128, under a key drawn when the ledger starts, of the sequence number), then 24 bits binding the
 * buyer (the buyer's id mixed with AES-128 of the sequence number under the owner tag key, `ownerTagKey`). Long after
 * the ledger has forgotten a reservation (its expiry sweep keeps no per-id memory), `check` still tells a forged id
 * from one it issued, and its owner from another buyer. A new process (a new ledger key) recognises none of its
 * predecessor's ids as its own, but with the store's secret it derives the earlier ledger's owner tag key from the id's
 * prefix, so the owner of an earlier run's id is told it is gone (410) and anyone else that it is unknown (`ownsToken`).
 * The ledger key stays random per ledger: were it derived too, two incarnations drawing one nonce would issue the
 * same ids. The owner tag only decides which refusal an id gets; it grants nothing. Live ids are still compared whole
 * with the token the ledger keeps.
 */
export class ReservationTokens {
  private readonly aes: Cipheriv;
  private readonly owners: Cipheriv;
  private blocksAt = 0;
  private raw: Buffer = Buffer.alloc(0);
  private tags: Buffer = Buffer.alloc(0);
  private readonly out = Buffer.alloc(12);

  /** `ownerKey`: the owner tag key (`ownerTagKey`); random when there is no store secret (no later process can check). */
  constructor(key: Buffer = randomBytes(16), ownerKey: Buffer = randomBytes(16)) {
    this.aes = aes(key);
    this.owners = aes(ownerKey);
  }

  /** The token of reservation `seq` of `user`. */
  issue(seq: number, user: string): string {
    if (this.raw.length === 0 || seq < this.blocksAt || seq >= this.blocksAt + BLOCKS) {
      this.blocksAt = seq - (seq % BLOCKS);
      this.raw = counterBlocks(this.aes, this.blocksAt, BLOCKS);
      this.tags = counterBlocks(this.owners, this.blocksAt, BLOCKS);
    }
    const at = 16 * (seq - this.blocksAt);
    this.raw.copy(this.out, 0, at, at + 9);
    this.out.writeUIntBE(ownerTag(this.tags, at, user, this.out), 9, 3);
    return this.out.toString("base64url");
  }

  /** Whether `token` (16 base64url characters) is this ledger's for `seq`: `forged` if not, else whether `user` owns it. */
  check(seq: number, token: string, user: string): "forged" | "foreign" | "owner" {
    const t = Buffer.from(token, "base64url");
    const b = counterBlocks(this.aes, seq, 1);
    if (t.length !== 12 || !t.subarray(0, 9).equals(b.subarray(0, 9))) return "forged";
    return t.readUIntBE(9, 3) === ownerTag(counterBlocks(this.owners, seq, 1), 0, user, t) ? "owner" : "foreign";
  }
}

/**
 * 24 bits of `user` and the token's first 9 bytes (`token`), mixed with the owner tag key's block of its sequence number
 * (murmur-style rounds and finaliser): an owner who alters their id's first 72 bits gets a token that no longer binds them.
 */
function ownerTag(block: Buffer, at: number, user: string, token: Buffer): number {
  let h = (block.readUInt32BE(at + 12) ^ user.length) | 0;
  for (const w of [token.readUInt32BE(0), token.readUInt32BE(4), token[8]!]) {
    h = Math.imul(h ^ w, 0x5bd1e995);
    h ^= h >>> 13;
  }
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

/** Bitmap bytes kept per ledger (a bit per swept id between a span's first and last): past this, the oldest spans go and their ids answer expired. */
const MAX_SWEPT_BYTES = 1 << 20;

/** How a reservation ended other than by running out its time: what a swept id's owner is told instead of `expired`. */
export type SweptEnd = "void" | "cancelled" | "over-cap";

/**
 * How the reservations that a ledger's sweep has dropped from its window ended, when not by expiry (ledger.ts): per
 * compaction and per ending, a bitmap spanning its first to its last such id (a bit per id between, an eighth of a byte
 * each). A token says only who was issued an id, not how it ended, so without these a cancelled, voided or cap-refused
 * reservation's owner was told 410 expired once the sweep forgot it, where the answer had been 204/410 cancelled, 409
 * void or 403 per-user limit before. Up to 1 MiB of bitmaps (millions of reservations); past that the oldest go, and
 * their ids answer expired (README).
 */
export class SweptEnds {
  private readonly spans: { from: number; end: SweptEnd; bits: Uint8Array }[] = [];
  private bytes = 0;

  /** Record sequence numbers that ended `end`, ascending. */
  add(end: SweptEnd, seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    const from = seqs[0]!;
    const bits = new Uint8Array(((seqs.at(-1)! - from) >> 3) + 1);
    for (const s of seqs) bits[(s - from) >> 3]! |= 1 << ((s - from) & 7);
    this.spans.push({ from, end, bits });
    this.bytes += bits.length;
    while (this.bytes > MAX_SWEPT_BYTES && this.spans.length > 1) this.bytes -= this.spans.shift()!.bits.length;
  }

  /** How swept id `seq` ended, or null if by expiry (or too long ago to be kept). */
  endOf(seq: number): SweptEnd | null {
    for (const { from, end, bits } of this.spans) {
      const i = seq - from;
      if (i >= 0 && i >> 3 < bits.length && (bits[i >> 3]! & (1 << (i & 7))) !== 0) return end;
    }
    return null;
  }
}
