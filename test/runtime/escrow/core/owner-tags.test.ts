// Reservation ids' owner tags across a restart (core/ids.ts): a ledger's ids bind their buyer under a key the store's
// secret derives per ledger prefix (`ownerTagKey`), so a later process, with no memory of the id, tells its owner
// (`ownsToken`: 410 gone) from another buyer, a made-up token, an altered one, another prefix or another store (404).
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ownerTagKey, ownsToken, parseReservationId, ReservationTokens, reservationPrefix } from "../../../../runtime/escrow/core/ids.js";
import { RegionLedger } from "../../../../runtime/escrow/core/ledger.js";

const user = fc.string({ minLength: 1, maxLength: 40 });
const token = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b).toString("base64url"));

describe("reservation owner tags (an earlier run's ids)", () => {
  it("property: the owner's token checks under the derived key; another buyer, an altered or made-up token, another prefix or secret does not", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.stringMatching(/^[0-9a-f]{8}$/),
        fc.integer({ min: 0, max: 2 ** 40 }),
        user,
        user,
        fc.integer({ min: 0, max: 8 }),
        token,
        (secretBytes, nonce, seq, owner, other, byte, madeUp) => {
          const secret = Buffer.from(secretBytes);
          const prefix = reservationPrefix("eu", "tix", nonce);
          const t = new ReservationTokens(randomBytes(16), ownerTagKey(secret, prefix)).issue(seq, owner);
          const key = ownerTagKey(secret, prefix);
          expect(ownsToken(key, seq, t, owner)).toBe(true);
          const altered = Buffer.from(t, "base64url");
          altered[byte]! ^= 1;
          // Each of these passes by a 2^-24 chance at most (a 24-bit tag): over a run's 100 cases, never in practice.
          if (other !== owner) expect(ownsToken(key, seq, t, other)).toBe(false);
          expect(ownsToken(key, seq, altered.toString("base64url"), owner)).toBe(false);
          if (madeUp !== t) expect(ownsToken(key, seq, madeUp, owner)).toBe(false);
          expect(ownsToken(key, seq + 1, t, owner)).toBe(false);
          expect(ownsToken(ownerTagKey(secret, reservationPrefix("eu", "tix", nonce === "00000000" ? "00000001" : "00000000")), seq, t, owner)).toBe(false);
          expect(ownsToken(ownerTagKey(randomBytes(32), prefix), seq, t, owner)).toBe(false);
        },
      ),
    );
  });

  it("a ledger's ids, live or swept, check for their owner under the store's secret after the ledger is gone; without the secret nothing does", () => {
    const secret = randomBytes(32);
    const prefix = reservationPrefix("eu", "tix", "0badc0de");
    const ledger = new RegionLedger(1_000, prefix, ownerTagKey(secret, prefix));
    ledger.credit(3000);
    const ids = Array.from({ length: 2100 }, (_, i) => ledger.reserve(`buyer${i % 7}`, 1, 0)!.id);
    ledger.expire(5_000); // swept and compacted: the ledger itself still judges them by their tokens
    expect(ledger.ended(ids[3]!, "buyer3")).toBe("expired");
    for (const [i, id] of ids.entries()) {
      const p = parseReservationId(id)!;
      expect(ownsToken(ownerTagKey(secret, prefix), p.seq, p.token, `buyer${i % 7}`)).toBe(true);
      expect(ownsToken(ownerTagKey(secret, prefix), p.seq, p.token, `buyer${(i + 1) % 7}`)).toBe(false);
    }
    // A ledger without the store's secret (a random owner key): a later process cannot tell its ids' owners.
    const alone = new RegionLedger(1_000, prefix);
    alone.credit(1);
    const p = parseReservationId(alone.reserve("ann", 1, 0)!.id)!;
    expect(ownsToken(ownerTagKey(secret, prefix), p.seq, p.token, "ann")).toBe(false);
  });
});
