// What the ledger says of a reservation once it has ended (#17): its owner's retry is told how it ended, whatever the path.
import { describe, expect, it } from "vitest";
import { RegionLedger } from "../../../../runtime/escrow/core/ledger.js";

describe("RegionLedger: a reservation's end, as its owner's retry is told", () => {
  it("a commit the store refused as lease-lost is void, not unknown: in the window and once swept", () => {
    const ledger = new RegionLedger(1_000, "eu~sku~0000abcd");
    ledger.credit(2000);
    const r = ledger.reserve("ann", 1, 0)!;
    expect(ledger.beginCommit(r.id, 1)).toMatchObject({ ok: true });
    ledger.failCommit(r.id); // the store answered lease-lost
    expect(ledger.lookup(r.id)).toBe("void");
    expect(ledger.ended(r.id, "ann")).toBe("void");
    expect(ledger.ended(r.id, "bob")).toBe("foreign");
    expect(ledger.beginCommit(r.id, 2)).toEqual({ ok: false, reason: "void" });
    for (let i = 0; i < 1100; i++) ledger.reserve(`b${i}`, 1, 0);
    ledger.expire(5_000); // the sweep drops the window before the reservation
    expect(ledger.ended(r.id, "ann")).toBe("void");
    expect(ledger.beginCommit(r.id, 5_001)).toEqual({ ok: false, reason: "void" });
  });
});

describe("RegionLedger: a cancelled reservation", () => {
  it("is told cancelled to its owner's retry (foreign to another buyer), in the window and once swept", () => {
    const ledger = new RegionLedger(1_000, "eu~sku~0000abcd");
    ledger.credit(2000);
    const r = ledger.reserve("ann", 1, 0)!;
    expect(ledger.release(r.id)).toMatchObject({ id: r.id });
    expect(ledger.release(r.id)).toBeUndefined();
    expect(ledger.lookup(r.id)).toBe("cancelled");
    expect(ledger.ended(r.id, "ann")).toBe("cancelled");
    expect(ledger.ended(r.id, "bob")).toBe("foreign");
    expect(ledger.beginCommit(r.id, 1)).toEqual({ ok: false, reason: "cancelled" });
    expect(ledger.free).toBe(2000);
    for (let i = 0; i < 1100; i++) ledger.reserve(`b${i}`, 1, 0);
    ledger.expire(5_000);
    expect(ledger.ended(r.id, "ann")).toBe("cancelled"); // kept past the window (ids.ts SweptEnds)
    expect(ledger.beginCommit(r.id, 6_000)).toEqual({ ok: false, reason: "cancelled" });
    expect(ledger.ended(r.id, "bob")).toBe("foreign");
  });
});

describe("RegionLedger: a commit the store refused for the buyer's cap", () => {
  it("is told over-cap again (its units freed); void if its lease was voided while the commit was in flight", () => {
    const ledger = new RegionLedger(1_000, "eu~sku~0000abcd");
    ledger.credit(10);
    const r = ledger.reserve("ann", 1, 0)!;
    ledger.beginCommit(r.id, 1);
    ledger.refuseCommit(r.id);
    expect(ledger.free).toBe(10);
    expect(ledger.ended(r.id, "ann")).toBe("over-cap");
    expect(ledger.beginCommit(r.id, 2)).toEqual({ ok: false, reason: "over-cap" });
    expect(ledger.release(r.id)).toBeUndefined();
    const s = ledger.reserve("ann", 1, 0)!;
    ledger.beginCommit(s.id, 1);
    ledger.void();
    ledger.refuseCommit(s.id);
    expect(ledger.ended(s.id, "ann")).toBe("void");
    expect(ledger.free).toBe(0);
  });
});
