// A commit whose store write fails (outcome unknown) after a renewal found the lease lost and voided the ledger (#17):
// the reservation belonged to the voided lease, so its units must not come back as free units of the new lease — the
// ledger would offer units the store's lease does not hold, and the buyers who reserve them get 409 void at commit.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { DEFAULT_POLICY } from "../../../runtime/escrow/core/rebalance.js";

describe("RegionEscrow: a commit aborted (unknown outcome) after the ledger was voided", () => {
  it("does not credit its units to the new lease; every unit the ledger offers then sells", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryEscrowStore();
    await store.createItem("sku", 6, { a: 6 });
    const a = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: 60_000, leaseTtlMs: 5_000, policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 5 }, initialWant: 6 });
    await a.start();
    const r = await a.reserve("buyer", 2);
    if (r.status !== "reserved") throw new Error(`reserve: ${r.status}`);
    clock.advance(6_000); // the lease lapsed; the reservation is still live
    const record = store.recordSales.bind(store);
    store.recordSales = async () => {
      store.recordSales = record;
      throw new Error("Connection terminated unexpectedly");
    };
    const committing = a.commit(r.reservation.id);
    const ticked = a.tick(); // finds the lease lost, voids the ledger, takes a new lease — before the write goes out
    await expect(committing).rejects.toThrow(/Connection terminated/);
    await ticked;
    expect(a.ledger.lookup(r.reservation.id)).toBe("void"); // a retry is told so (the service asks the store first)
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(0);
    expect(a.ledger.held).toBe(audit.leases["a"]!.held);
    for (let i = 0; a.ledger.free > 0; i++) {
      const x = await a.reserve(`b${i}`, 1);
      if (x.status !== "reserved") throw new Error(`reserve: ${x.status}`);
      expect(await a.commit(x.reservation.id)).toMatchObject({ status: "sold" });
    }
  });
});
