// An in-doubt commit (#17) whose re-send fails again after its region's lease was lost. The re-send goes out under the
// commit's own fence; with the fence no longer current its units are gone either way (the ledger was voided) and it is
// aborted — but it stayed in the in-doubt map marked as being sent, so the next tick's resolveInDoubt waited on a send
// that would never come: the tick, and every slow-path request behind it in the region's serial queue, hung for ever.
// Seen in faults/hung-store.test.ts with the journal's PostgreSQL stopped for a few lease TTLs (the sale stopped dead).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../../runtime/escrow/store/memory.js";
import { DEFAULT_POLICY } from "../../../../runtime/escrow/core/rebalance.js";

/** A hang detector, not a latency bound: everything here is in memory. */
const HUNG_MS = 5_000;
const settled = (p: Promise<unknown>): Promise<boolean> =>
  Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), HUNG_MS).unref()),
  ]);

describe("RegionEscrow: an in-doubt commit whose re-send fails after the lease was lost", () => {
  it("is aborted once, and the next ticks and the buyer's retry are answered", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryEscrowStore();
    await store.createItem("sku", 6, { a: 6 });
    const a = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: 60_000, leaseTtlMs: 5_000, policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 5 }, initialWant: 6 });
    await a.start();
    const r = await a.reserve("buyer", 2);
    if (r.status !== "reserved") throw new Error(`reserve: ${r.status}`);
    const id = r.reservation.id;
    const record = store.recordSales.bind(store);
    let down = true;
    store.recordSales = async (...args) => {
      if (down) throw new Error("Query read timeout");
      return record(...args);
    };
    await expect(a.commit(id)).rejects.toThrow(/timeout/);
    clock.advance(6_000); // the lease lapses while the journal is down
    await a.tick(); // the re-send throws (in doubt again); the renewal finds the lease lost: a new fence, the ledger voided
    await a.tick(); // the re-send under the old fence throws: no longer current, aborted
    expect(await settled(a.tick()), "a tick after the aborted re-send never finished").toBe(true);
    down = false;
    const retry = a.commit(id);
    expect(await settled(retry), "the buyer's retry was never answered").toBe(true);
    expect(await retry).toEqual({ status: "void" });
    expect(await store.findSale("sku", id)).toBeNull();
    // The region sells on: its new lease's units are offered and sell.
    expect(await settled(a.tick())).toBe(true);
    const x = await a.reserve("other", 1);
    expect(x.status).toBe("reserved");
    if (x.status === "reserved") expect(await a.commit(x.reservation.id)).toMatchObject({ status: "sold" });
  });
});
