// A commit whose store write had an unknown outcome — the store applied the sale, then the connection dropped — with
// the region's lease still valid (#17). Aborted back to a live reservation, it expired when its buyer did not retry,
// and the ledger counted its units as free although the store had sold them: it handed out reservations the store's
// lease could not honour (409 void at commit) until an at-rest reconcile, which never comes while commits are in
// flight. It is in doubt instead — neither expirable nor re-reservable — and resolved by re-sending the sale (the store
// dedupes by sale id) on the region's next tick, or at once when its buyer retries.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { DEFAULT_POLICY } from "../../../runtime/escrow/core/rebalance.js";

async function setup(): Promise<{ clock: ManualClock; store: MemoryEscrowStore; a: RegionEscrow }> {
  const clock = new ManualClock(1_000);
  const store = new MemoryEscrowStore();
  await store.createItem("sku", 6, { a: 6 }); // the pool is empty: no refill
  // The lease outlives the reservation TTL: nothing here is lost or voided.
  const a = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: 60_000, leaseTtlMs: 600_000, policy: { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 5 }, initialWant: 6 });
  await a.start();
  return { clock, store, a };
}

/** The next recordSales applies the batch, then throws (the answer was lost). */
function applyThenThrowOnce(store: MemoryEscrowStore): void {
  const record = store.recordSales.bind(store);
  store.recordSales = async (...args) => {
    store.recordSales = record;
    await record(...args);
    throw new Error("Connection terminated unexpectedly");
  };
}

async function reserve(a: RegionEscrow, user: string, qty: number): Promise<string> {
  const r = await a.reserve(user, qty);
  if (r.status !== "reserved") throw new Error(`reserve: ${r.status}`);
  return r.reservation.id;
}

describe("RegionEscrow: a commit whose store write had an unknown outcome, the lease still valid", () => {
  it("is resolved by the next tick, not expired into free units: the ledger matches the store's lease and every unit it offers sells", async () => {
    const { clock, store, a } = await setup();
    const id = await reserve(a, "buyer", 2);
    applyThenThrowOnce(store);
    await expect(a.commit(id)).rejects.toThrow(/Connection terminated/);
    expect(a.ledger.free).toBe(4); // its units are neither free nor re-reservable
    clock.advance(61_000); // past the reservation TTL; the buyer never retries
    // Another buyer's commit is in flight during the tick (the usual case under load): no at-rest reconcile corrects it.
    const other = await reserve(a, "other", 1);
    const committing = a.commit(other);
    await a.tick();
    expect(await committing).toMatchObject({ status: "sold" });
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(3);
    expect(a.ledger.free).toBe(audit.leases["a"]!.held);
    expect(a.ledger.held).toBe(audit.leases["a"]!.held);
    for (let i = 0; a.ledger.free > 0; i++) {
      const x = await reserve(a, `b${i}`, 1);
      expect(await a.commit(x)).toMatchObject({ status: "sold" });
    }
    expect((await store.audit("sku", clock.now()))!.sold).toBe(6);
    // The buyer's late retry is answered from the store's record (the service asks findSale for a swept id).
    expect(await store.findSale("sku", id)).toMatchObject({ user: "buyer", qty: 2 });
  });

  it("a retry while in doubt gets the resolved answer (sold, duplicate), past the TTL too", async () => {
    const { clock, store, a } = await setup();
    const id = await reserve(a, "buyer", 2);
    applyThenThrowOnce(store);
    await expect(a.commit(id)).rejects.toThrow(/Connection terminated/);
    clock.advance(61_000);
    expect(await a.commit(id)).toEqual({ status: "sold", qty: 2, duplicate: true });
    await a.tick();
    const audit = (await store.audit("sku", clock.now()))!;
    expect([a.ledger.free, a.ledger.held]).toEqual([audit.leases["a"]!.held, audit.leases["a"]!.held]);
  });

  it("a write that never reached the store sells once resolved; a throwing store keeps it in doubt, not freed", async () => {
    const { clock, store, a } = await setup();
    const id = await reserve(a, "buyer", 2);
    const record = store.recordSales.bind(store);
    let down = true;
    store.recordSales = async (...args) => {
      if (down) throw new Error("connect ECONNREFUSED");
      return record(...args);
    };
    await expect(a.commit(id)).rejects.toThrow(/ECONNREFUSED/);
    clock.advance(61_000);
    await a.tick(); // still down: the commit stays in doubt, its units neither free nor expired
    expect([a.ledger.free, a.ledger.committing]).toEqual([4, 2]);
    down = false;
    await a.tick();
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(2);
    expect([a.ledger.free, a.ledger.committing, a.ledger.held]).toEqual([4, 0, audit.leases["a"]!.held]);
  });
});

describe("RegionEscrow: cancelling an in-doubt commit the store has no record of", () => {
  it("frees its units and it is not sent again", async () => {
    const { clock, store, a } = await setup();
    const id = await reserve(a, "buyer", 2);
    const record = store.recordSales.bind(store);
    store.recordSales = async () => {
      store.recordSales = record;
      throw new Error("connect ECONNREFUSED");
    };
    await expect(a.commit(id)).rejects.toThrow(/ECONNREFUSED/);
    expect(await store.findSale("sku", id)).toBeNull(); // what the service asks before it cancels
    expect(a.cancel(id)).toMatchObject({ id, qty: 2 });
    await a.tick();
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.sold).toBe(0);
    expect([a.ledger.free, a.ledger.held]).toEqual([6, audit.leases["a"]!.held]);
  });
});
