/**
 * The behavioural suite every escrow store passes (memory, Redis, PostgreSQL, Redis + journal): the
 * store port's semantics — fencing by generation and epoch, zombies, holds against the per-user cap,
 * direct transfers, refunds — races between concurrent grants, and the fast-check property that no
 * interleaving of reservations, commits, expiries, rebalances, region crashes and zombie commits sells
 * more than the inventory, and that after reconciliation sold + reserved + available = total.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../../runtime/escrow/region.js";
import { reconcile } from "../../../../runtime/escrow/reconcile.js";
import { conservationDrift, type AcquireRequest, type EscrowStore, type Fence } from "../../../../runtime/escrow/store/port.js";
import type { RebalancePolicy } from "../../../../runtime/escrow/core/rebalance.js";

let seq = 0;
const sell = (s: EscrowStore, k: string, region: string, fence: Fence, saleId: string, qty: number, now: number, user = "u", cap = 0) =>
  s.recordSales(k, region, fence, [{ saleId, qty, user }], now, cap).then((o) => o[0]);
const sku = () => `item-${process.pid}-${Date.now().toString(36)}-${seq++}`;
const req = (k: string, region: string, want: number, nowMs: number, leaseTtlMs: number, extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
  sku: k,
  region,
  want,
  nowMs,
  leaseTtlMs,
  fresh: true,
  reserved: 0,
  rate: 0,
  borrow: 0,
  ...extra,
});
const fenceOf = (r: { generation: string; lease: { epoch: number } }): Fence => ({ generation: r.generation, epoch: r.lease.epoch });

export function describeEscrowStore(name: string, open: () => EscrowStore, opts: { numRuns: number }): void {
  describe(`escrow store: ${name}`, () => {
    it("creates an item once; a different total conflicts", async () => {
      const s = open();
      const k = sku();
      expect(await s.createItem(k, 10, { a: 5 }, 0)).toBe("created");
      expect(await s.createItem(k, 10, {}, 0)).toBe("exists");
      expect(await s.createItem(k, 11, {}, 0)).toBe("conflict");
      expect(await s.audit(k, 0)).toMatchObject({ total: 10, pool: 10, sold: 0, allocation: { a: 5 } });
      expect(await s.acquire(req(`nope-${k}`, "a", 1, 0, 10))).toBeNull();
      await s.close();
    });

    it("grants at most the pool, fences stale epochs and generations, sells idempotently, reclaims expired leases", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 10, {}, 0);
      const a = (await s.acquire(req(k, "a", 7, 1000, 100)))!;
      expect(a).toMatchObject({ granted: 7, pool: 3, lost: false, fenced: false, lease: { epoch: 1, held: 7, expiresAtMs: 1100 } });
      const b = (await s.acquire(req(k, "b", 7, 1000, 1000)))!;
      expect(b).toMatchObject({ granted: 3, pool: 0 });
      expect(b.peers["a"]).toMatchObject({ held: 7, live: true });
      const fa = fenceOf(a);
      expect(await sell(s, k, "a", fa, "s1", 2, 1010)).toBe("sold");
      expect(await sell(s, k, "a", fa, "s1", 2, 1011)).toBe("duplicate");
      expect(await sell(s, k, "a", { ...fa, epoch: 9 }, "s2", 1, 1011)).toBe("lease-lost");
      expect(await sell(s, k, "a", { ...fa, generation: "another" }, "s2", 1, 1011)).toBe("lease-lost");
      expect(await sell(s, k, "a", fa, "s3", 6, 1011)).toBe("lease-lost"); // only 5 held
      expect(await s.findSale(k, "s1")).toMatchObject({ region: "a", qty: 2, user: "u", refunded: false });
      expect(await s.findSale(k, "zz")).toBeNull();
      expect(await s.release(k, "a", fa, 2, 1020)).toBe(2);
      expect(await s.release(k, "a", { ...fa, epoch: 5 }, 2, 1020)).toBe(0);
      // a's lease lapses: its 3 unsold units return; b's lease is still live.
      expect(await s.reclaimExpired(k, 1101)).toBe(3);
      const audit = (await s.audit(k, 1101))!;
      expect(audit).toMatchObject({ total: 10, pool: 5, sold: 2 });
      expect(audit.leases["a"]).toMatchObject({ held: 0, live: false });
      expect(conservationDrift(audit)).toBe(0);
      // The old holder renews with its stale fence after its lease lapsed: it learns the lease was lost.
      const again = (await s.acquire(req(k, "a", 0, 1102, 100, { fresh: false, fence: fa })))!;
      expect(again).toMatchObject({ lost: true, fenced: false, lease: { epoch: 2 } });
      await s.close();
    });

    it("a zombie (stale epoch while another incarnation's lease is live) is fenced and gets nothing", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 10, {}, 0);
      const old = (await s.acquire(req(k, "a", 4, 0, 1000)))!;
      const fresh = (await s.acquire(req(k, "a", 2, 10, 1000)))!; // the region restarts and takes the lease over
      expect(fresh).toMatchObject({ lease: { epoch: 2, held: 6 }, lost: false });
      const zombie = (await s.acquire(req(k, "a", 3, 20, 1000, { fresh: false, fence: fenceOf(old) })))!;
      expect(zombie).toMatchObject({ fenced: true, lost: true, granted: 0 });
      expect(await sell(s, k, "a", fenceOf(old), "z1", 1, 21)).toBe("lease-lost");
      expect((await s.audit(k, 30))!.leases["a"]).toMatchObject({ epoch: 2, held: 6 });
      await s.close();
    });

    it("transfers move held units straight to another live lease, fenced by the giver", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 20, {}, 0);
      const cold = (await s.acquire(req(k, "cold", 15, 0, 1000)))!;
      const hot = (await s.acquire(req(k, "hot", 0, 0, 1000)))!;
      expect(await s.transfer(k, "cold", { ...fenceOf(cold), epoch: 99 }, "hot", 5, 10)).toBe(0);
      expect(await s.transfer(k, "cold", fenceOf(cold), "nobody", 5, 10)).toBe(0);
      expect(await s.transfer(k, "cold", fenceOf(cold), "hot", 40, 10)).toBe(15);
      const renewed = (await s.acquire(req(k, "hot", 0, 20, 1000, { fresh: false, fence: fenceOf(hot) })))!;
      expect(renewed.lease).toMatchObject({ held: 15, received: 15 });
      expect(await s.transfer(k, "hot", fenceOf(renewed), "cold", 1, 2000)).toBe(0); // cold's lease has lapsed
      const audit = (await s.audit(k, 20))!;
      expect(conservationDrift(audit)).toBe(0);
      await s.close();
    });

    it("holds count reservations against the buyer's global cap; sales turn them into units bought; refunds give them back", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 20, {}, 0);
      const a = (await s.acquire(req(k, "a", 10, 0, 100_000)))!;
      const hold = (holdId: string, qty: number, nowMs = 1, user = "alice") => s.hold(k, { user, holdId, qty, cap: 4, expiresAtMs: 1000, nowMs });
      expect(await hold("r1", 2)).toEqual({ ok: true });
      expect(await hold("r2", 2)).toEqual({ ok: true });
      expect(await hold("r3", 1)).toEqual({ ok: false, held: 4, bought: 0 });
      expect(await hold("r3", 1, 1, "bob")).toEqual({ ok: true });
      await s.releaseHold(k, "alice", "r2");
      expect(await sell(s, k, "a", fenceOf(a), "r1", 2, 5, "alice", 4)).toBe("sold");
      expect(await hold("r4", 2)).toEqual({ ok: true });
      expect(await hold("r5", 1)).toEqual({ ok: false, held: 2, bought: 2 });
      expect(await hold("r5", 1, 1000)).toEqual({ ok: true }); // r4 expired: its hold no longer counts
      // The store enforces the cap on units bought at sale time too.
      expect(await sell(s, k, "a", fenceOf(a), "r6", 3, 6, "alice", 4)).toBe("over-cap");
      expect(await s.refund(k, "r1", 7)).toBe("refunded");
      expect(await s.refund(k, "r1", 8)).toBe("already-refunded");
      expect(await s.refund(k, "nope", 8)).toBe("unknown");
      expect(await s.findSale(k, "r1")).toMatchObject({ refunded: true });
      expect(await sell(s, k, "a", fenceOf(a), "r6", 3, 9, "alice", 4)).toBe("sold");
      const audit = (await s.audit(k, 10))!;
      expect(audit).toMatchObject({ sold: 3, pool: 12 }); // 2 refunded back to the pool
      expect(conservationDrift(audit)).toBe(0);
      await s.close();
    });

    it("concurrent grants and sales never overdraw the pool", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 100, {}, 0);
      const regions = ["a", "b", "c", "d"];
      const fences = new Map<string, Fence>();
      for (const r of regions) fences.set(r, fenceOf((await s.acquire(req(k, r, 0, 0, 1e9)))!));
      const grants = await Promise.all(Array.from({ length: 40 }, (_, i) => s.acquire(req(k, regions[i % 4]!, 7, 1, 1e9, { fresh: false, fence: fences.get(regions[i % 4]!)! }))));
      expect(grants.reduce((t, g) => t + g!.granted, 0)).toBe(100);
      const sales = await Promise.all(Array.from({ length: 120 }, (_, i) => sell(s, k, regions[i % 4]!, fences.get(regions[i % 4]!)!, `s${i}`, 1, 2, `u${i % 7}`)));
      const audit = (await s.audit(k, 3))!;
      expect(sales.filter((x) => x === "sold").length).toBe(audit.sold);
      expect(audit.sold).toBeLessThanOrEqual(100);
      expect(conservationDrift(audit)).toBe(0);
      await s.close();
    });

    it("property: any interleaving of reserve/commit/cancel/expire/rebalance/crash never oversells and reconciles", async () => {
      const s = open();
      const stats = { runs: 0, withSales: 0, withCrashes: 0 };
      const regionIds = ["r0", "r1", "r2"] as const;
      const policy: RebalancePolicy = { mode: "hybrid", batchSize: 3, reorderPoint: 1, horizonSeconds: 1, maxWaiters: 4 };
      // Reserve and commit weigh twice the rest: with equal weights ~40% of runs sold anything, and the coverage check
      // below (over the journaled store's 15 runs) failed by chance about once in 200 (seen in CI); at ~50%, once in 2,000.
      const cmd = fc.oneof(
        { arbitrary: fc.record({ op: fc.constant("reserve" as const), r: fc.nat(2), user: fc.nat(5), qty: fc.integer({ min: 1, max: 3 }) }), weight: 2 },
        { arbitrary: fc.record({ op: fc.constant("commit" as const), r: fc.nat(2), pick: fc.nat(50) }), weight: 2 },
        fc.record({ op: fc.constant("zombieCommit" as const), pick: fc.nat(50) }),
        fc.record({ op: fc.constant("cancel" as const), r: fc.nat(2), pick: fc.nat(50) }),
        fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 700 }) }),
        fc.record({ op: fc.constant("tick" as const), r: fc.nat(2) }),
        fc.record({ op: fc.constant("crash" as const), r: fc.nat(2) }),
        fc.record({ op: fc.constant("restart" as const), r: fc.nat(2) }),
        fc.record({ op: fc.constant("burst" as const), r: fc.nat(2), n: fc.integer({ min: 2, max: 6 }) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.array(cmd, { minLength: 5, maxLength: 40 }), async (total, cmds) => {
          const k = sku();
          const clock = new ManualClock(1_000_000);
          await s.createItem(k, total, {}, clock.now());
          const make = (r: string) => new RegionEscrow({ sku: k, region: r, store: s, clock, reservationTtlMs: 500, leaseTtlMs: 800, policy, initialWant: Math.floor(total / 4) });
          const live = new Map<string, RegionEscrow>();
          const zombies: RegionEscrow[] = [];
          const held = new Map<RegionEscrow, string[]>();
          let acked = 0;
          const start = async (r: string) => {
            const e = make(r);
            await e.start();
            live.set(r, e);
            held.set(e, []);
          };
          for (const r of regionIds) await start(r);
          const reserveOn = async (e: RegionEscrow, user: number, qty: number) => {
            const res = await e.reserve(`u${user}`, qty);
            if (res.status === "reserved") held.get(e)!.push(res.reservation.id);
          };
          const commitOn = async (e: RegionEscrow, pick: number) => {
            const ids = held.get(e)!;
            if (ids.length === 0) return;
            const id = ids[pick % ids.length]!;
            const out = await e.commit(id);
            if (out.status === "sold" && !out.duplicate) acked += out.qty;
          };
          const check = async () => {
            const a = (await s.audit(k, clock.now()))!;
            expect(conservationDrift(a)).toBe(0);
            expect(a.sold).toBeLessThanOrEqual(total);
            expect(a.pool).toBeGreaterThanOrEqual(0);
            for (const l of Object.values(a.leases)) expect(l.held).toBeGreaterThanOrEqual(0);
            expect(a.sold).toBe(acked);
          };
          for (const c of cmds) {
            const e = "r" in c ? live.get(regionIds[c.r]!) : undefined;
            switch (c.op) {
              case "reserve":
                if (e) await reserveOn(e, c.user, c.qty);
                break;
              case "commit":
                if (e) await commitOn(e, c.pick);
                break;
              case "zombieCommit":
                if (zombies.length) await commitOn(zombies[c.pick % zombies.length]!, c.pick);
                break;
              case "cancel":
                if (e) {
                  const ids = held.get(e)!;
                  if (ids.length) e.cancel(ids[c.pick % ids.length]!);
                }
                break;
              case "advance":
                clock.advance(c.ms);
                break;
              case "tick":
                if (e) await e.tick();
                break;
              case "crash":
                if (e) {
                  live.delete(regionIds[c.r]!);
                  zombies.push(e);
                }
                break;
              case "restart":
                if (!e) await start(regionIds[c.r]!);
                break;
              case "burst":
                if (e) await Promise.all(Array.from({ length: c.n }, (_, i) => (i % 2 ? commitOn(e, i) : reserveOn(e, i, 1))));
                break;
            }
            await check();
          }
          // Quiesce: let every reservation and dead lease expire, tick the living, reconcile.
          clock.advance(1000);
          for (const e of live.values()) await e.tick();
          for (const e of live.values()) await e.tick();
          const reports = [...live.values()].map((e) => ({
            region: e.region,
            held: e.ledger.held,
            free: e.ledger.free,
            reserved: e.ledger.reserved,
            committing: e.ledger.committing,
            received: e.receivedSeen,
          }));
          const rep = (await reconcile(s, k, clock.now(), reports))!;
          expect(rep.ok).toBe(true);
          expect(rep.unreported).toBe(0);
          const reserved = reports.reduce((t, r) => t + r.reserved, 0);
          // Units given to a region that has not renewed since are in transit: still available, in its lease.
          const available = rep.pool + rep.inTransit + reports.reduce((t, r) => t + r.free, 0);
          expect(rep.sold + reserved + available).toBe(total);
          expect(rep.sold).toBe(acked);
          stats.runs++;
          if (acked > 0) stats.withSales++;
          if (zombies.length > 0) stats.withCrashes++;
        }),
        { numRuns: opts.numRuns },
      );
      // The generator must actually reach sales and crashes, or the property proves nothing.
      expect(stats.withSales).toBeGreaterThan(stats.runs / 10);
      expect(stats.withCrashes).toBeGreaterThan(stats.runs / 10);
      await s.close();
    });
  });
}
