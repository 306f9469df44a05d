// A region's borrow request (its published `want`) when one of its refused buyers asks for more than exists anywhere
// free (#17). 60 units: 55 in us, all in one open checkout (they return only if not bought in 60 s), 5 free in eu, none
// in the pool. A us buyer asks for 40 — not sold out (60 are unsold), so 429 — and another us buyer for 1; an eu buyer
// asks for 6 (eu holds 5). Both regions borrow, so neither lends (core/rebalance.ts), and the 5 units are pooled only
// in a borrower whose request they meet. With the largest refused request as the want (us 40, eu 6) none is met: the
// buyer asking 1 got 429 for as long as the test looked while 5 units sat in eu.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { conservationDrift } from "../../../runtime/escrow/store/port.js";
import { DEFAULT_POLICY } from "../../../runtime/escrow/core/rebalance.js";

const TICK_MS = 333;

describe("RegionEscrow: the borrow request with a refused request larger than the units free anywhere", () => {
  it("is what the units free can meet: the small buyer is served from the other region within a few ticks", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryEscrowStore();
    await store.createItem("sku", 60, { us: 55, eu: 5 });
    const region = (id: string, initialWant: number) =>
      new RegionEscrow({ sku: "sku", region: id, store, clock, reservationTtlMs: 60_000, leaseTtlMs: 5_000, policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 0 }, initialWant });
    const us = region("us", 55);
    const eu = region("eu", 5);
    await us.start();
    await eu.start();
    expect((await us.reserve("holder", 55)).status).toBe("reserved"); // an open checkout
    const answers: string[] = [];
    let served = false;
    for (let round = 0; round < 12 && !served; round++) {
      expect((await us.reserve("big", 40)).status).toBe("retry");
      expect((await eu.reserve("eu-buyer", 6)).status).toBe("retry");
      const small = await us.reserve("small", 1);
      answers.push(small.status);
      if (small.status === "reserved") {
        expect(await us.commit(small.reservation.id)).toMatchObject({ status: "sold" });
        served = true;
      }
      clock.advance(TICK_MS);
      await eu.tick();
      await us.tick();
      expect(conservationDrift((await store.audit("sku", clock.now()))!)).toBe(0);
    }
    expect(answers.at(-1)).toBe("reserved");
    expect(answers.length).toBeLessThanOrEqual(4);
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(1);
    // What a region publishes never exceeds the units it can see free anywhere (free here, the pool, its peers' free).
    expect(audit.leases["us"]!.want).toBeLessThanOrEqual(us.obtainable);
    expect(audit.leases["eu"]!.want).toBeLessThanOrEqual(eu.obtainable);
  });
});
