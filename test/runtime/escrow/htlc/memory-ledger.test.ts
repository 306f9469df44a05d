// The memory ledger's operations are each one atomic step (store.ts): callers that do not wait for each other
// (Promise.all, as an in-process swap driver or two watchers do) must not see each other's half-done lock. A lock
// that read the owner's balance, awaited, and decided on it afterwards let three locks of 10 spend the same 10
// units (available -20) and one id lock twice.
import { describe, expect, it } from "vitest";
import { hashlockOf } from "../../../../runtime/escrow/htlc/core.js";
import { MemoryHtlcLedger } from "../../../../runtime/escrow/htlc/store.js";

const PRE = "11".repeat(32);
const req = (id: string, qty = 10) => ({ id, asset: "gold", owner: "alice", recipient: "bob", qty, hashlock: hashlockOf(PRE), timelockMs: 1_000 });

describe("memory HTLC ledger under concurrent calls", () => {
  it("locks issued together spend each unit once; the same id locks once, its twin is a duplicate", async () => {
    const l = new MemoryHtlcLedger();
    await l.mint("gold", "alice", 10);
    const outs = await Promise.all([l.lock(req("a"), 0), l.lock(req("b"), 0), l.lock(req("a"), 0)]);
    expect(outs.map((o) => (o.ok ? (o.duplicate ? "duplicate" : "locked") : o.reason))).toEqual(["locked", "insufficient", "duplicate"]);
    expect(await l.balance("gold", "alice")).toBe(0);
    expect(await l.totals("gold")).toEqual({ asset: "gold", supply: 10, available: 0, locked: 10 });
  });

  it("claims and refunds issued together with locks settle once, totals conserved", async () => {
    const l = new MemoryHtlcLedger();
    await l.mint("gold", "alice", 32);
    await Promise.all([0, 1, 2].map((i) => l.lock(req(`l${i}`), 0)));
    const outs = await Promise.all([0, 1, 2].flatMap((i) => [l.claim(`l${i}`, PRE, "bob", 999), l.refund(`l${i}`, "alice", 1_000), l.lock(req(`x${i}`, 1), 0)]));
    expect(outs.filter((o) => o.ok && !o.duplicate)).toHaveLength(5);
    const t = await l.totals("gold");
    expect(t.available + t.locked).toBe(32);
    // The claims before T win (the refunds at T find them claimed); two of the three 1-unit locks find units.
    expect(outs.filter((o) => !o.ok).map((o) => !o.ok && o.reason)).toEqual(["claimed", "claimed", "claimed", "insufficient"]);
    expect(await l.balance("gold", "bob")).toBe(30);
    expect(await l.balance("gold", "alice")).toBe(0);
  });
});
