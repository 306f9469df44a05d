// The HTLC core and its memory ledger: the rules case by case, then fast-check over any interleaving of
// claims, refunds, crashes (restart from the durable snapshot) and clock advances: each lock ends in
// exactly one outcome that never changes, and supply = available + locked at every step.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { hashlockOf, type Htlc } from "../../../../runtime/escrow/htlc/core.js";
import { MemoryHtlcLedger } from "../../../../runtime/escrow/htlc/store.js";

const PRE = "11".repeat(32);
const H = hashlockOf(PRE);
const lockReq = (id: string, timelockMs = 1_000, qty = 5) => ({ id, asset: "gold", owner: "alice", recipient: "bob", qty, hashlock: H, timelockMs });

async function funded(): Promise<MemoryHtlcLedger> {
  const l = new MemoryHtlcLedger();
  await l.mint("gold", "alice", 10);
  return l;
}

describe("HTLC rules", () => {
  it("claim before T moves the units to the recipient, once; a replay is a duplicate", async () => {
    const l = await funded();
    expect((await l.lock(lockReq("x"), 0)).ok).toBe(true);
    expect(await l.balance("gold", "alice")).toBe(5);
    const c = await l.claim("x", PRE, "bob", 999);
    expect(c).toMatchObject({ ok: true, duplicate: false, htlc: { status: "claimed", preimage: PRE } });
    expect(await l.claim("x", PRE, "bob", 2_000)).toMatchObject({ ok: true, duplicate: true });
    expect(await l.balance("gold", "bob")).toBe(5);
    expect(await l.refund("x", "alice", 5_000)).toMatchObject({ ok: false, reason: "claimed" });
    expect(await l.totals("gold")).toEqual({ asset: "gold", supply: 10, available: 10, locked: 0 });
  });

  it("refuses a wrong preimage, a claim by someone else, a claim at or after T, a refund before T or by someone else", async () => {
    const l = await funded();
    await l.lock(lockReq("x"), 0);
    expect(await l.claim("x", "22".repeat(32), "bob", 1)).toMatchObject({ ok: false, reason: "wrong-preimage" });
    expect(await l.claim("x", "zz", "bob", 1)).toMatchObject({ ok: false, reason: "wrong-preimage" });
    expect(await l.claim("x", PRE, "mallory", 1)).toMatchObject({ ok: false, reason: "not-recipient" });
    expect(await l.refund("x", "alice", 999)).toMatchObject({ ok: false, reason: "not-yet" });
    expect(await l.claim("x", PRE, "bob", 1_000)).toMatchObject({ ok: false, reason: "expired" });
    expect(await l.refund("x", "bob", 1_000)).toMatchObject({ ok: false, reason: "not-owner" });
    expect(await l.refund("x", "alice", 1_000)).toMatchObject({ ok: true, duplicate: false });
    expect(await l.refund("x", "alice", 1_001)).toMatchObject({ ok: true, duplicate: true });
    expect(await l.claim("x", PRE, "bob", 0)).toMatchObject({ ok: false, reason: "refunded" });
    expect(await l.balance("gold", "alice")).toBe(10);
  });

  it("a lock needs the units and a future timelock; the same id is a replay only with the same terms", async () => {
    const l = await funded();
    expect(await l.lock(lockReq("big", 1_000, 11), 0)).toMatchObject({ ok: false, reason: "insufficient" });
    expect(await l.lock(lockReq("past", 5), 5)).toMatchObject({ ok: false, reason: "expired" });
    expect(await l.lock(lockReq("x"), 0)).toMatchObject({ ok: true, duplicate: false });
    expect(await l.lock(lockReq("x"), 1)).toMatchObject({ ok: true, duplicate: true });
    expect(await l.lock(lockReq("x", 2_000), 1)).toMatchObject({ ok: false, reason: "conflict" });
    expect(await l.totals("gold")).toEqual({ asset: "gold", supply: 10, available: 5, locked: 5 });
  });
});

const step = fc.oneof(
  fc.record({ op: fc.constant("claim" as const), lock: fc.nat(2), good: fc.boolean(), byRecipient: fc.boolean() }),
  fc.record({ op: fc.constant("refund" as const), lock: fc.nat(2), byOwner: fc.boolean() }),
  fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant("crash" as const) }),
);

describe("HTLC properties", () => {
  it("any interleaving of claim, refund, crash/restart and clock advance: exactly one outcome per lock, totals conserved", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 1_500 }), { minLength: 3, maxLength: 3 }), fc.array(step, { maxLength: 40 }), async (timelocks, steps) => {
        let l = new MemoryHtlcLedger();
        await l.mint("gold", "alice", 30);
        let now = 0;
        for (const [i, t] of timelocks.entries()) expect((await l.lock(lockReq(`l${i}`, t), now)).ok).toBe(true);
        const settled = new Map<string, Htlc["status"]>();
        const wins = new Map<string, number>();
        const check = async () => {
          const t = await l.totals("gold");
          expect(t.available + t.locked).toBe(t.supply);
          expect(t.supply).toBe(30);
          for (const [id, s] of settled) expect((await l.get(id))!.status).toBe(s);
        };
        for (const s of steps) {
          if (s.op === "advance") now += s.ms;
          else if (s.op === "crash") l = MemoryHtlcLedger.restore(JSON.parse(JSON.stringify(l.snapshot())) as ReturnType<MemoryHtlcLedger["snapshot"]>);
          else {
            const id = `l${s.lock}`;
            const out = s.op === "claim" ? await l.claim(id, s.good ? PRE : "22".repeat(32), s.byRecipient ? "bob" : "alice", now) : await l.refund(id, s.byOwner ? "alice" : "bob", now);
            if (out.ok && !out.duplicate) {
              wins.set(id, (wins.get(id) ?? 0) + 1);
              settled.set(id, out.htlc.status);
              // A claim wins only before T, a refund only from T on.
              if (s.op === "claim") expect(now).toBeLessThan(out.htlc.timelockMs);
              else expect(now).toBeGreaterThanOrEqual(out.htlc.timelockMs);
            }
          }
          await check();
        }
        // Whatever happened, once past every timelock the owner's refund settles what is left: one outcome each.
        now += 2_000;
        for (let i = 0; i < 3; i++) await l.refund(`l${i}`, "alice", now);
        for (let i = 0; i < 3; i++) {
          const h = (await l.get(`l${i}`))!;
          expect(h.status).not.toBe("locked");
          expect(wins.get(`l${i}`) ?? 0).toBeLessThanOrEqual(1);
        }
        const t = await l.totals("gold");
        expect(t.locked).toBe(0);
        expect((await l.balance("gold", "alice")) + (await l.balance("gold", "bob"))).toBe(30);
      }),
      { numRuns: 200 },
    );
  });
});
