/**
 * Verifier-issued nonces (RATS "nonce-based freshness"): the verifier draws a random nonce, remembers it until
 * it expires, and accepts it in exactly one appraisal. A nonce it never issued, one already used and one past
 * its expiry are refused — so a recorded quote cannot be replayed, even to another verifier sharing the store.
 * The memory book is the embedded default (clock injected, pure apart from the random draw); store/file.ts keeps
 * the same contract across CLI invocations.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../../common/clock.js";

export type NonceVerdict = { ok: true } | { ok: false; why: "unknown" | "reused" | "expired"; detail: string };

/** The port both books implement; `consume` marks the nonce used whatever the appraisal then finds. */
export interface NonceStore {
  issue(ttlMs: number): { nonce: string; expiresAt: number } | Promise<{ nonce: string; expiresAt: number }>;
  consume(nonce: string): NonceVerdict | Promise<NonceVerdict>;
}

/** 32 random bytes, hex: what `tpm2_quote -q` takes and TPMS_ATTEST.extraData carries back. */
const NONCE_BYTES = 32;
export const newNonce = (): string => randomBytes(NONCE_BYTES).toString("hex");
export const NONCE_HEX = /^(?:[0-9a-f]{2}){1,64}$/;

export function verdict(entry: { expiresAt: number; used: boolean } | undefined, nonce: string, now: number): NonceVerdict {
  if (!entry) return { ok: false, why: "unknown", detail: `nonce ${nonce} was not issued by this verifier (or expired and was forgotten)` };
  if (entry.used) return { ok: false, why: "reused", detail: `nonce ${nonce} was already used: a replayed quote` };
  if (now >= entry.expiresAt) return { ok: false, why: "expired", detail: `nonce ${nonce} expired at ${new Date(entry.expiresAt).toISOString()}` };
  return { ok: true };
}

export class NonceBook implements NonceStore {
  private readonly entries = new Map<string, { expiresAt: number; used: boolean }>();
  constructor(
    private readonly clock: Clock,
    /** Outstanding nonces at most: issuing is unauthenticated, so the book must not grow without bound. */
    private readonly capacity = 100_000,
  ) {}

  issue(ttlMs: number): { nonce: string; expiresAt: number } {
    this.prune();
    if (this.entries.size >= this.capacity) throw new Error(`${this.capacity} nonces outstanding; try again when some expire`);
    const nonce = newNonce();
    const expiresAt = this.clock.now() + ttlMs;
    this.entries.set(nonce, { expiresAt, used: false });
    return { nonce, expiresAt };
  }

  consume(nonce: string): NonceVerdict {
    const key = nonce.toLowerCase();
    const entry = this.entries.get(key);
    const v = verdict(entry, key, this.clock.now());
    if (entry) entry.used = true;
    return v;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forget nonces past expiry: used or not, they can only be refused from then on (as unknown). */
  private prune(): void {
    const now = this.clock.now();
    for (const [n, e] of this.entries) if (now >= e.expiresAt) this.entries.delete(n);
  }
}
