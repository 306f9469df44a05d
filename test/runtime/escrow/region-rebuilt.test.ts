// Another process rebuilt the store (the journaled store's verify: a new generation, every unsold unit in the pool, no
// leases) while a region sells from its old lease (#17). The region's reserve path does no store I/O, so the
// reservations it issues before any store answer reaches it are doomed and are voided (their commits answered void, their
// holds released) once it learns of the rebuild. It must not issue more once a commit has been answered lease-lost under
// its current fence: that answer is the store telling it, and the renewal that learns the new fence may queue behind
// other store work (here: held at a gate).
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore, newGeneration } from "../../../runtime/escrow/store/memory.js";
import type { AcquireRequest } from "../../../runtime/escrow/store/port.js";
import { DEFAULT_POLICY } from "../../../runtime/escrow/core/rebalance.js";
import type { Reservation } from "../../../runtime/escrow/core/ledger.js";

/** What the journaled store's rebuild leaves: a new generation, the unsold units in the pool, no leases. */
function rebuild(store: MemoryEscrowStore, sku: string): void {
  const item = (Reflect.get(store, "items") as Map<string, { generation: string; total: number; sold: number; pool: number; leases: Map<string, unknown> }>).get(sku)!;
  item.generation = newGeneration();
  item.pool = item.total - item.sold;
  item.leases.clear();
}

describe("RegionEscrow: the store rebuilt by another process", () => {
  it("issues no reservation from the old ledger once a commit was answered lease-lost; those issued before are voided", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryEscrowStore();
    await store.createItem("sku", 10, { a: 10 }); // the pool is empty after the start: no refill ahead
    let gate: Promise<void> | null = null;
    let open = (): void => undefined;
    const acquire = store.acquire.bind(store);
    store.acquire = async (req: AcquireRequest) => {
      if (gate) await gate; // a renewal on its way (a slow store round trip)
      return acquire(req);
    };
    const dropped: Reservation[] = [];
    const a = new RegionEscrow({
      sku: "sku",
      region: "a",
      store,
      clock,
      reservationTtlMs: 60_000,
      leaseTtlMs: 5_000,
      policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 2 },
      initialWant: 10,
      onVoid: (d) => dropped.push(...d),
    });
    await a.start();
    const first = await a.reserve("b0", 1);
    if (first.status !== "reserved") throw new Error(`reserve: ${first.status}`);
    rebuild(store, "sku");
    gate = new Promise<void>((resolve) => (open = resolve));
    // Issued before any store answer reached the region: unavoidable without a store call per reservation.
    const doomed = a.tryReserve("b1", 1)!;
    expect(doomed).not.toBeNull();
    expect(await a.commit(first.reservation.id)).toEqual({ status: "lease-lost" });
    // The store has told the region its fence is stale: the old ledger must not issue again.
    const late = a.tryReserve("b2", 1);
    const waiting = a.reserve("b3", 1); // waits for the renewal, then reserves from the new lease
    expect(late).toBeNull();
    open();
    gate = null;
    const r3 = await waiting;
    await a.tick();
    expect(dropped.map((r) => r.id)).toContain(doomed.id); // its hold can go
    expect(await a.commit(doomed.id)).toEqual({ status: "void" }); // answered at once, no store write
    if (r3.status !== "reserved") throw new Error(`reserve: ${r3.status}`); // from the new lease (the renewal refilled it)
    expect(await a.commit(r3.reservation.id)).toMatchObject({ status: "sold" });
    const audit = (await store.audit("sku", clock.now()))!;
    expect(a.ledger.held).toBe(audit.leases["a"]!.held);
    for (let i = 0; a.ledger.free > 0; i++) {
      const x = await a.reserve(`c${i}`, 1);
      if (x.status !== "reserved") throw new Error(`reserve: ${x.status}`);
      expect(await a.commit(x.reservation.id)).toMatchObject({ status: "sold" });
    }
  });
});
