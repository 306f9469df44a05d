import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { DEFAULT_POLICY, type RebalanceMode, type RebalancePolicy } from "../../../runtime/escrow/core/rebalance.js";
import { reconcile } from "../../../runtime/escrow/reconcile.js";
import type { EscrowStore } from "../../../runtime/escrow/store/port.js";

const policy = (mode: RebalanceMode = "hybrid"): RebalancePolicy => ({ ...DEFAULT_POLICY, mode, batchSize: 5, reorderPoint: 2, horizonSeconds: 1, maxWaiters: 2 });

async function setup(total: number, initial: Record<string, number>, o: { store?: EscrowStore; reservationTtlMs?: number; mode?: RebalanceMode } = {}) {
  const clock = new ManualClock(1_000);
  const store = o.store ?? new MemoryEscrowStore();
  await store.createItem("sku", total, initial, clock.now());
  const regions: Record<string, RegionEscrow> = {};
  for (const [region, initialWant] of Object.entries(initial)) {
    regions[region] = new RegionEscrow({ sku: "sku", region, store, clock, reservationTtlMs: o.reservationTtlMs ?? 1_000, leaseTtlMs: 5_000, policy: policy(o.mode), initialWant });
    await regions[region]!.start();
  }
  const tickAll = async () => {
    for (const r of Object.values(regions)) await r.tick();
  };
  return { clock, store, regions, tickAll };
}

describe("RegionEscrow: the fast path, refills, rebalancing, leases", () => {
  it("starts with its allocation and serves it with no store call", async () => {
    const inner = new MemoryEscrowStore();
    let calls = 0;
    const counting = new Proxy(inner, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        return typeof v === "function" ? (...args: unknown[]) => (calls++, (v as (...a: unknown[]) => unknown).apply(target, args)) : v;
      },
    });
    const { regions } = await setup(20, { a: 8, b: 4 }, { store: counting, mode: "push" });
    calls = 0;
    expect(regions["a"]!.ledger.free).toBe(8);
    for (let i = 0; i < 8; i++) expect(regions["a"]!.tryReserve(`u${i}`, 1)).not.toBeNull();
    expect(calls).toBe(0);
    expect(regions["a"]!.tryReserve("u9", 1)).toBeNull();
  });

  it("pull: a dry region borrows a batch from the pool", async () => {
    const { regions, store, clock } = await setup(20, { a: 1 }, { mode: "pull" });
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

  it("a request for more than is left unsold anywhere is answered at once: only N left, or sold out — never a retry loop", async () => {
    const { regions, tickAll, clock } = await setup(6, { a: 3, b: 3 });
    for (let i = 0; i < 3; i++) {
      const r = await regions["b"]!.reserve(`w${i}`, 1);
      if (r.status === "reserved") await regions["b"]!.commit(r.reservation.id);
    }
    clock.advance(300); // a's view of the store is older than a moment: it checks before answering
    const tooMany = await regions["a"]!.reserve("x", 4);
    expect(tooMany).toMatchObject({ status: "sold-out", left: 3, detail: "only 3 left, 4 requested" });
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await regions["a"]!.reserve(`u${i}`, 1));
    // All 3 unsold units are in open checkouts: not sold out (they may return), so retry, with the reason.
    expect(await regions["a"]!.reserve("y", 1)).toMatchObject({ status: "retry", detail: expect.stringMatching(/3 units are not sold yet but none is free now/) });
    for (const r of held) if (r.status === "reserved") await regions["a"]!.commit(r.reservation.id);
    expect(await regions["a"]!.reserve("y", 1)).toMatchObject({ status: "sold-out", left: 0, detail: "sold out" });
    await tickAll();
    expect(await regions["b"]!.reserve("z", 1)).toMatchObject({ status: "sold-out" });
  });

  for (const mode of ["push", "pull", "hybrid"] as const) {
    it(`${mode}: with demand in one region only, the others' stock moves there and the sale sells out`, async () => {
      const { regions, store, clock, tickAll } = await setup(60, { hot: 5, c1: 20, c2: 20 }, { mode, reservationTtlMs: 60_000 });
      let sold = 0;
      for (let round = 0; round < 40 && sold < 60; round++) {
        for (let i = 0; i < 10; i++) {
          const r = await regions["hot"]!.reserve(`u${round}-${i}`, 1);
          if (r.status === "reserved" && (await regions["hot"]!.commit(r.reservation.id)).status === "sold") sold++;
          if (r.status === "sold-out") break;
        }
        clock.advance(500);
        await tickAll();
      }
      expect(sold).toBe(60);
      const audit = (await store.audit("sku", clock.now()))!;
      expect(audit).toMatchObject({ sold: 60, pool: 0 });
      expect(regions["c1"]!.transferredOut + regions["c2"]!.transferredOut).toBeGreaterThan(0);
      expect(await regions["hot"]!.reserve("late", 1)).toMatchObject({ status: "sold-out" });
    });
  }

  it("push does not undo itself: a cold region that gave its surplus does not take a batch back on the same tick", async () => {
    const { regions, store, clock, tickAll } = await setup(40, { hot: 0, cold: 40 }, { mode: "push" });
    for (let i = 0; i < 5; i++) await regions["hot"]!.reserve(`u${i}`, 1); // hot asks for stock
    clock.advance(1000);
    await tickAll();
    await tickAll();
    const coldHeld = regions["cold"]!.ledger.held;
    expect(coldHeld).toBeLessThan(40);
    clock.advance(1000);
    await tickAll();
    expect(regions["cold"]!.ledger.held).toBeLessThanOrEqual(coldHeld);
    expect((await store.audit("sku", clock.now()))!.pool).toBe(0);
  });

  it("a region that dies: its lease lapses, its unsold units return, a zombie cannot sell them", async () => {
    const { regions, clock, store } = await setup(10, { a: 6, b: 4 }, { reservationTtlMs: 60_000 });
    const held = await regions["a"]!.reserve("buyer", 2);
    if (held.status !== "reserved") throw new Error("reserve");
    // a stops renewing; b keeps going.
    clock.advance(3_000);
    await regions["b"]!.tick();
    clock.advance(3_000);
    await regions["b"]!.tick();
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit.leases["a"]).toMatchObject({ held: 0, live: false });
    // The old process wakes up and tries to sell: the store refuses (lease lost), nothing is sold.
    expect(await regions["a"]!.commit(held.reservation.id)).toEqual({ status: "lease-lost" });
    await regions["a"]!.tick();
    expect(regions["a"]!.ledger.held).toBe((await store.audit("sku", clock.now()))!.leases["a"]!.held);
    expect((await store.audit("sku", clock.now()))!.sold).toBe(0);
    expect(regions["a"]!.drift.at(-1)).toMatchObject({ correction: "voided", reason: "the lease lapsed and was reclaimed" });
  });

  it("two incarnations of one region: the newer takes the lease, the older is fenced and stays out", async () => {
    const { regions, clock, store } = await setup(10, { a: 6 });
    const old = regions["a"]!;
    const r = await old.reserve("x", 1);
    const fresh = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: 1000, leaseTtlMs: 5_000, policy: policy(), initialWant: 0 });
    await fresh.start();
    expect(fresh.ledger.held).toBe(6);
    await old.tick();
    expect(old.fenced).toBe(true);
    expect(old.ledger.held).toBe(0);
    if (r.status === "reserved") expect(await old.commit(r.reservation.id)).toEqual({ status: "void" });
    await fresh.tick();
    expect(fresh.ledger.held).toBe(6);
  });

  it("reconciliation corrects drift toward the store and reports the global count", async () => {
    const { regions, store, clock } = await setup(10, { a: 6 }, { mode: "push" });
    // Someone returned 2 of a's units behind its back (an operator, or a half-applied push).
    await store.release("sku", "a", regions["a"]!.fence, 2, clock.now());
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
    const { regions, clock } = await setup(50, { a: 50 }, { store });
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
