// A region's lease found lost (lapsed, fenced, or the store rebuilt) while commits made under it are still on their way
// to the store (#17): those commits sell under the lease their reservations came from, or not at all — never from the
// units of the new lease, which the voided ledger does not count as theirs.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { DEFAULT_POLICY } from "../../../runtime/escrow/core/rebalance.js";

describe("RegionEscrow: a commit begun under a lease the next renewal finds lost", () => {
  it("is refused (lease-lost), not sold from the new lease; the ledger then matches the store's lease", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryEscrowStore();
    await store.createItem("sku", 6, { a: 6 }); // the pool is empty: no refill ahead
    const a = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: 60_000, leaseTtlMs: 5_000, policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 5 }, initialWant: 6 });
    await a.start();
    const r = await a.reserve("buyer", 2);
    if (r.status !== "reserved") throw new Error(`reserve: ${r.status}`);
    clock.advance(6_000); // the lease lapsed (a stalled process); the reservation is still live
    // The commit is begun under the old lease; its store write goes out at the end of this turn. The renewal in the
    // same turn finds the lease lost, voids the ledger and takes a new lease first.
    const committing = a.commit(r.reservation.id);
    const ticked = a.tick(); // (below its reorder point: the new lease comes with a batch)
    expect(await committing).toEqual({ status: "lease-lost" });
    await ticked;
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(0);
    expect(a.ledger.held).toBe(audit.leases["a"]!.held);
    expect(a.ledger.free).toBe(audit.leases["a"]!.held);
    // Every unit the ledger offers sells: no reservation handed out of units the store's lease does not hold.
    for (let i = 0; i < audit.leases["a"]!.held; i++) {
      const x = await a.reserve(`b${i}`, 1);
      if (x.status !== "reserved") throw new Error(`reserve: ${x.status}`);
      expect(await a.commit(x.reservation.id)).toMatchObject({ status: "sold" });
    }
  });
});
