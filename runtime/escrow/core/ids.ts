/**
 * Reservation ids: `<region>~<sku>~<incarnation><seq>-<token>`. The region and SKU let any region route
 * a commit or cancel to the process holding the reservation (or answer it from the store once sold);
 * the incarnation nonce (8 hex digits, random per process start) and the base-36 sequence number let
 * that process find the reservation in O(1); the token (96 random bits) makes the id unguessable — a
 * forged id names no reservation. `~` cannot occur in a region id or a SKU, so the id splits unambiguously.
 */
import { randomFillSync } from "node:crypto";

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
