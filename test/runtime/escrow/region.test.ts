import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/stores/memory.js";
import { DEFAULT_POLICY, type RebalancePolicy } from "../../../runtime/escrow/rebalance.js";
import { reconcile } from "../../../runtime/escrow/reconcile.js";
import type { EscrowStore } from "../../../runtime/escrow/store.js";

const policy: RebalancePolicy = { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 2, horizonSeconds: 1, poolLowWater: 10, maxWaiters: 2 };

async function setup(total: number, initial: Record<string, number>, store: EscrowStore = new MemoryEscrowStore(), reservationTtlMs = 1_000) {
  const clock = new ManualClock(1_000);
  await store.createItem("sku", total, initial, clock.now());
  const regions: Record<string, RegionEscrow> = {};
  for (const [region, initialWant] of Object.entries(initial)) {
    regions[region] = new RegionEscrow({ sku: "sku", region, store, clock, reservationTtlMs, leaseTtlMs: 5_000, policy, initialWant });
    await regions[region]!.start();
  }
  return { clock, store, regions };
}

describe("RegionEscrow: pull, push, hybrid, leases", () => {
  it("starts with its static allocation and serves it with no store call", async () => {
    const inner = new MemoryEscrowStore();
    let calls = 0;
    const counting = new Proxy(inner, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        return typeof v === "function" ? (...args: unknown[]) => (calls++, (v as (...a: unknown[]) => unknown).apply(target, args)) : v;
      },
    });
    const { regions } = await setup(20, { a: 8, b: 4 }, counting);
    calls = 0;
    expect(regions["a"]!.ledger.free).toBe(8);
    for (let i = 0; i < 8; i++) expect(regions["a"]!.tryReserve(`u${i}`, 1)).not.toBeNull();
    expect(calls).toBe(0);
    expect(regions["a"]!.tryReserve("u9", 1)).toBeNull();
    await regions["a"]!.reserve("u9", 1);
    expect(calls).toBeGreaterThan(0); // the slow path does go to the store
  });

  it("pull: a dry region borrows a batch from the pool", async () => {
    const { regions, store, clock } = await setup(20, { a: 1 });
    await regions["a"]!.reserve("u", 1);
    const r = await regions["a"]!.reserve("v", 1);
    expect(r.status).toBe("reserved");
    expect(regions["a"]!.ledger.free).toBe(4); // borrowed 5, reserved 1
    expect((await store.audit("sku", clock.now()))!.pool).toBe(14);
  });

  it("(r, Q): at the reorder point a refill starts in the background and lands before the region runs dry", async () => {
    const { regions, store, clock } = await setup(30, { a: 5 });
    for (let i = 0; i < 3; i++) expect(regions["a"]!.tryReserve(`u${i}`, 1)).not.toBeNull(); // free: 2 = reorder point
    await new Promise((r) => setImmediate(r));
    expect(regions["a"]!.ledger.free).toBe(7); // one batch of 5 arrived; nobody waited for it
    expect((await store.audit("sku", clock.now()))!.pool).toBe(20);
  });

  it("backpressure: callers beyond maxWaiters on one in-flight pull are told to retry", async () => {
    const { regions } = await setup(100, { a: 0 });
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => regions["a"]!.reserve(`u${i}`, 1)));
    // maxWaiters = 2: the caller that started the pull and one more wait; the other three are turned away.
    expect(results.filter((r) => r.status === "retry")).toHaveLength(3);
    expect(results.filter((r) => r.status === "reserved")).toHaveLength(2);
  });

  it("sold out only when nothing is free anywhere; otherwise retry while other regions hold free units", async () => {
    const { regions } = await setup(6, { a: 3, b: 3 });
    for (let i = 0; i < 3; i++) await regions["a"]!.reserve(`u${i}`, 1);
    const r = await regions["a"]!.reserve("x", 1);
    expect(r.status).toBe("retry");
    for (let i = 0; i < 3; i++) await regions["b"]!.reserve(`w${i}`, 1);
    await regions["b"]!.tick(); // b publishes its reserved count
    await regions["a"]!.tick();
    expect((await regions["a"]!.reserve("x", 1)).status).toBe("sold-out");
  });

  it("push: a cold region returns surplus when the pool runs low, and the hot one pulls it", async () => {
    const { regions, clock } = await setup(40, { hot: 5, cold: 35 });
    await regions["hot"]!.tick();
    for (let i = 0; i < 5; i++) await regions["hot"]!.reserve(`u${i}`, 1);
    clock.advance(1000);
    const pushed = await regions["cold"]!.tick();
    expect(pushed.pushed).toBe(33); // keeps its reorder point (2): no demand seen
    const r = await regions["hot"]!.reserve("more", 1);
    expect(r.status).toBe("reserved");
  });

  it("a region that dies: its lease lapses, its unsold units return, a zombie cannot sell them", async () => {
    const { regions, clock, store } = await setup(10, { a: 6, b: 4 }, new MemoryEscrowStore(), 60_000);
    const held = await regions["a"]!.reserve("buyer", 2);
    if (held.status !== "reserved") throw new Error("reserve");
    // a stops renewing; b keeps going.
    clock.advance(3_000);
    await regions["b"]!.tick();
    clock.advance(3_000);
    await regions["b"]!.tick();
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.pool).toBe(6);
    expect(audit.leases["a"]).toMatchObject({ held: 0, live: false });
    // The old process wakes up and tries to sell: the store refuses (lease lost), nothing is sold.
    expect(await regions["a"]!.commit(held.reservation.id)).toEqual({ status: "lease-lost" });
    await regions["a"]!.tick();
    expect(regions["a"]!.ledger.held).toBe((await store.audit("sku", clock.now()))!.leases["a"]!.held);
    expect((await store.audit("sku", clock.now()))!.sold).toBe(0);
  });

  it("reconciliation corrects drift toward the store and reports the global count", async () => {
    const { regions, store, clock } = await setup(10, { a: 6 });
    // Someone returned 2 of a's units behind its back (an operator, or a half-applied push).
    await store.release("sku", "a", regions["a"]!.epoch, 2, clock.now());
    await regions["a"]!.tick();
    const [event] = regions["a"]!.drift;
    expect(event).toMatchObject({ correction: "debited" });
    expect(event!.localHeld - event!.storeHeld).toBe(2);
    const storeHeld = (await store.audit("sku", clock.now()))!.leases["a"]!.held;
    expect(regions["a"]!.ledger.held).toBe(storeHeld);
    const rep = (await reconcile(store, "sku", clock.now(), [{ region: "a", held: storeHeld, free: storeHeld, reserved: 0, committing: 0 }]))!;
    expect(rep).toMatchObject({ ok: true, conservationDrift: 0, pool: 10 - storeHeld, sold: 0 });
    const wrong = (await reconcile(store, "sku", clock.now(), [{ region: "a", held: storeHeld + 1, free: 0, reserved: 0, committing: 0 }]))!;
    expect(wrong.regionDrift).toEqual({ a: { store: storeHeld, local: storeHeld + 1 } });
    expect(wrong.ok).toBe(false);
  });

  it("group commit: concurrent commits go out together and each is acknowledged once", async () => {
    const store = new MemoryEscrowStore();
    let writes = 0;
    const original = store.recordSales.bind(store);
    store.recordSales = async (...args) => {
      writes++;
      await new Promise((r) => setTimeout(r, 5));
      return original(...args);
    };
    const { regions, clock } = await setup(50, { a: 50 }, store);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = regions["a"]!.tryReserve(`u${i}`, 1);
      if (r) ids.push(r.id);
    }
    const outs = await Promise.all(ids.map((id) => regions["a"]!.commit(id)));
    expect(outs.every((o) => o.status === "sold")).toBe(true);
    expect(writes).toBeLessThanOrEqual(3);
    expect((await store.audit("sku", clock.now()))!.sold).toBe(40);
  });
});
