/**
 * Known answers for reservation ids' tokens (core/ids.ts). Ids outlive the process that issued them (a later process on
 * the same store tells their owner 410, anyone else 404), so their construction is a format: a change here would turn
 * every earlier run's reservation into 404 for its owner after an upgrade. The HMAC and AES parts were computed
 * independently with OpenSSL:
 *   printf 'meridian-escrow/reservation-owner/v1\neu-west~tix~0badf00d' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07
 *   printf '%032x' 300 | xxd -r -p | openssl enc -aes-128-ecb -K 0101…01 -nopad | xxd -p
 * the owner tag's 24 bits (a mix of the buyer, the first 72 bits and AES of the sequence number) are pinned as issued.
 */
import { describe, expect, it } from "vitest";
import { ownerTagKey, ownsToken, ReservationTokens } from "../../../../runtime/escrow/core/ids.js";

const SECRET = Buffer.alloc(32, 0x07);
const PREFIX = "eu-west~tix~0badf00d";

describe("reservation id tokens: known answers", () => {
  it("the owner tag key is the first 16 bytes of HMAC-SHA256 over the versioned label and the id prefix", () => {
    expect(ownerTagKey(SECRET, PREFIX).toString("hex")).toBe("b7b9d3dbdb31b05c8879216940404637");
  });

  it("a token is AES-128 of the sequence number (its first 9 bytes) and the owner tag (3 bytes)", () => {
    const ownerKey = ownerTagKey(SECRET, PREFIX);
    const token = new ReservationTokens(Buffer.alloc(16, 0x01), ownerKey).issue(300, "alice");
    expect(Buffer.from(token, "base64url").toString("hex")).toBe("60ad35af685acdd1ad" + "b1227b");
    expect(token).toBe("YK01r2hazdGtsSJ7");
    expect(ownsToken(ownerKey, 300, token, "alice")).toBe(true);
    expect(ownsToken(ownerKey, 300, token, "bob")).toBe(false);
    expect(ownsToken(ownerKey, 301, token, "alice")).toBe(false);
  });
});
