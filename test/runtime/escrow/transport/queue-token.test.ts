// Waiting-room tokens are bound to what they are (a queue place or a pass), the SKU and the buyer: each kind
// signed with the shared secret is refused where the other is expected, for another SKU or buyer, unsigned,
// under another secret or past its expiry (403 naming why), and a buyer's draw is theirs alone.
import { describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { HttpError } from "../../../../runtime/common/http.js";
import { QueueTokens } from "../../../../runtime/escrow/transport/queue-token.js";

const T0 = 1_800_000_000_000;
const secret = (fill: number) => new Uint8Array(48).fill(fill);

/** The 403's detail, or "ok" when the token was taken. */
async function verdict(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    if (e instanceof HttpError && e.status === 403) return e.detail;
    throw e;
  }
}

describe("queue tokens and passes", () => {
  it("refuses a pass as a queue token and a queue token as a pass, and either for another SKU or buyer", async () => {
    const clock = new ManualClock(T0);
    const t = new QueueTokens(secret(7), () => clock.now());
    const queue = await t.queue({ sku: "drop", user: "ann", score: -1.5, joinedAtMs: T0 }, T0 + 60_000);
    const pass = await t.pass("drop", "ann", T0 + 30_000);
    // What each is for.
    expect(await t.verifyQueue(queue, "drop", "ann")).toEqual({ sku: "drop", user: "ann", score: -1.5, joinedAtMs: T0 });
    expect(await verdict(t.verifyPass(pass, "drop", "ann"))).toBe("ok");
    // Swapped kinds: same secret, SKU and buyer, wrong purpose.
    expect(await verdict(t.verifyPass(queue, "drop", "ann"))).toMatch(/this is not a waiting-room pass/);
    expect(await verdict(t.verifyQueue(pass, "drop", "ann"))).toMatch(/this is not a queue token/);
    // Another SKU, another buyer.
    expect(await verdict(t.verifyPass(pass, "drop-2", "ann"))).toMatch(/is for drop, not drop-2/);
    expect(await verdict(t.verifyQueue(queue, "drop-2", "ann"))).toMatch(/is for drop, not drop-2/);
    expect(await verdict(t.verifyPass(pass, "drop", "bob"))).toMatch(/belongs to another buyer/);
    // Another secret (a region misconfigured, or a forger's), unsigned, expired.
    const other = new QueueTokens(secret(8), () => clock.now());
    expect(await verdict(t.verifyPass(await other.pass("drop", "ann", T0 + 30_000), "drop", "ann"))).toMatch(/does not verify \(bad signature\)/);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const unsigned = `${b64({ alg: "none" })}.${b64({ typ: "pass", sku: "drop", sub: "ann", iss: "meridian-escrow-waiting-room", exp: T0 / 1000 + 60 })}.`;
    expect(await verdict(t.verifyPass(unsigned, "drop", "ann"))).toMatch(/does not verify/);
    const hs512 = await new SignJWT({ typ: "pass", sku: "drop" })
      .setProtectedHeader({ alg: "HS512" })
      .setIssuer("meridian-escrow-waiting-room")
      .setSubject("ann")
      .setExpirationTime(T0 / 1000 + 60)
      .sign(secret(7));
    expect(await verdict(t.verifyPass(hs512, "drop", "ann"))).toMatch(/does not verify/);
    clock.advance(30_001);
    expect(await verdict(t.verifyPass(pass, "drop", "ann"))).toMatch(/has expired/);
  });

  it("a buyer's draw is the same under the same secret, and unrelated for another buyer, SKU or secret", () => {
    const t = new QueueTokens(secret(7), () => T0);
    const u = t.draw("drop", "ann");
    expect(u).toBeGreaterThanOrEqual(0);
    expect(u).toBeLessThan(1);
    expect(new QueueTokens(secret(7), () => T0 + 1).draw("drop", "ann")).toBe(u);
    for (const other of [t.draw("drop", "bob"), t.draw("drop-2", "ann"), new QueueTokens(secret(8), () => T0).draw("drop", "ann")]) expect(other).not.toBe(u);
    // Uniform enough: 2,000 buyers' draws fill each tenth of [0, 1) with 200 ± 60.
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 2000; i++) bins[Math.floor(t.draw("drop", `buyer-${i}`) * 10)]!++;
    for (const n of bins) expect(Math.abs(n - 200)).toBeLessThan(60);
  });
});
