/**
 * The behavioural suite every escrow store passes (memory, Redis, PostgreSQL): the store port's
 * semantics, races between concurrent grants, and the fast-check property that no interleaving of
 * reservations, commits, expiries, rebalances, region crashes and zombie commits sells more than the
 * inventory — and that after reconciliation sold + reserved + available = total.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ManualClock } from "../../../runtime/common/clock.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { reconcile } from "../../../runtime/escrow/reconcile.js";
import { conservationDrift, type EscrowStore } from "../../../runtime/escrow/store.js";
import type { RebalancePolicy } from "../../../runtime/escrow/rebalance.js";

let seq = 0;
const sell = (s: EscrowStore, k: string, region: string, epoch: number, saleId: string, qty: number, now: number) =>
  s.recordSales(k, region, epoch, [{ saleId, qty }], now).then((o) => o[0]);
const sku = () => `item-${process.pid}-${Date.now().toString(36)}-${seq++}`;

export function describeEscrowStore(name: string, open: () => EscrowStore, opts: { numRuns: number }): void {
  describe(`escrow store: ${name}`, () => {
    it("creates an item once; a different total conflicts", async () => {
      const s = open();
      const k = sku();
      expect(await s.createItem(k, 10, { a: 5 }, 0)).toBe("created");
      expect(await s.createItem(k, 10, {}, 0)).toBe("exists");
      expect(await s.createItem(k, 11, {}, 0)).toBe("conflict");
      expect(await s.audit(k, 0)).toMatchObject({ total: 10, pool: 10, sold: 0, allocation: { a: 5 } });
      expect(await s.acquire({ sku: "nope-" + k, region: "a", want: 1, nowMs: 0, leaseTtlMs: 10, fresh: true, reserved: 0 })).toBeNull();
      await s.close();
    });

    it("grants at most the pool, fences stale epochs, sells idempotently, reclaims expired leases", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 10, {}, 0);
      const a = (await s.acquire({ sku: k, region: "a", want: 7, nowMs: 1000, leaseTtlMs: 100, fresh: true, reserved: 0 }))!;
      expect(a).toMatchObject({ granted: 7, pool: 3, lost: false, lease: { epoch: 1, held: 7, expiresAtMs: 1100 } });
      const b = (await s.acquire({ sku: k, region: "b", want: 7, nowMs: 1000, leaseTtlMs: 1000, fresh: true, reserved: 0 }))!;
      expect(b).toMatchObject({ granted: 3, pool: 0, heldElsewhere: 7 });
      expect(await sell(s, k, "a", 1, "s1", 2, 1010)).toBe("sold");
      expect(await sell(s, k, "a", 1, "s1", 2, 1011)).toBe("duplicate");
      expect(await sell(s, k, "a", 9, "s2", 1, 1011)).toBe("lease-lost");
      expect(await sell(s, k, "a", 1, "s3", 6, 1011)).toBe("lease-lost"); // only 5 held
      expect(await s.findSale(k, "s1")).toMatchObject({ region: "a", qty: 2 });
      expect(await s.findSale(k, "zz")).toBeNull();
      expect(await s.release(k, "a", 1, 2, 1020)).toBe(2);
      expect(await s.release(k, "a", 5, 2, 1020)).toBe(0);
      // a's lease lapses: its 3 unsold units return; b's lease is still live.
      expect(await s.reclaimExpired(k, 1101)).toBe(3);
      const audit = (await s.audit(k, 1101))!;
      expect(audit).toMatchObject({ total: 10, pool: 5, sold: 2 });
      expect(audit.leases["a"]).toMatchObject({ held: 0, live: false });
      expect(conservationDrift(audit)).toBe(0);
      // The old holder renews with its stale epoch: it learns the lease was lost.
      const again = (await s.acquire({ sku: k, region: "a", want: 0, nowMs: 1102, leaseTtlMs: 100, fresh: false, reserved: 0, epoch: 1 }))!;
      expect(again.lost).toBe(true);
      expect(again.lease.epoch).toBe(2);
      await s.close();
    });

    it("concurrent grants and sales never overdraw the pool", async () => {
      const s = open();
      const k = sku();
      await s.createItem(k, 100, {}, 0);
      const regions = ["a", "b", "c", "d"];
      const epochs = new Map<string, number>();
      for (const r of regions) epochs.set(r, (await s.acquire({ sku: k, region: r, want: 0, nowMs: 0, leaseTtlMs: 1e9, fresh: true, reserved: 0 }))!.lease.epoch);
      const grants = await Promise.all(Array.from({ length: 40 }, (_, i) => s.acquire({ sku: k, region: regions[i % 4]!, want: 7, nowMs: 1, leaseTtlMs: 1e9, fresh: false, reserved: 0, epoch: epochs.get(regions[i % 4]!)! })));
      expect(grants.reduce((t, g) => t + g!.granted, 0)).toBe(100);
      const sales = await Promise.all(Array.from({ length: 120 }, (_, i) => sell(s, k, regions[i % 4]!, epochs.get(regions[i % 4]!)!, `s${i}`, 1, 2)));
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
      const policy: RebalancePolicy = { mode: "hybrid", batchSize: 3, reorderPoint: 1, horizonSeconds: 1, poolLowWater: 4, maxWaiters: 4 };
      const cmd = fc.oneof(
        fc.record({ op: fc.constant("reserve" as const), r: fc.nat(2), user: fc.nat(5), qty: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ op: fc.constant("commit" as const), r: fc.nat(2), pick: fc.nat(50) }),
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
              case "reserve": if (e) await reserveOn(e, c.user, c.qty); break;
              case "commit": if (e) await commitOn(e, c.pick); break;
              case "zombieCommit": if (zombies.length) await commitOn(zombies[c.pick % zombies.length]!, c.pick); break;
              case "cancel": if (e) { const ids = held.get(e)!; if (ids.length) e.cancel(ids[c.pick % ids.length]!); } break;
              case "advance": clock.advance(c.ms); break;
              case "tick": if (e) await e.tick(); break;
              case "crash": if (e) { live.delete(regionIds[c.r]!); zombies.push(e); } break;
              case "restart": if (!e) await start(regionIds[c.r]!); break;
              case "burst": if (e) await Promise.all(Array.from({ length: c.n }, (_, i) => (i % 2 ? commitOn(e, i) : reserveOn(e, i, 1)))); break;
            }
            await check();
          }
          // Quiesce: let every reservation and dead lease expire, tick the living, reconcile.
          clock.advance(1000);
          for (const e of live.values()) await e.tick();
          const reports = [...live.values()].map((e) => ({ region: e.region, held: e.ledger.held, free: e.ledger.free, reserved: e.ledger.reserved, committing: e.ledger.committing }));
          const rep = (await reconcile(s, k, clock.now(), reports))!;
          expect(rep.ok).toBe(true);
          expect(rep.unreported).toBe(0);
          const reserved = reports.reduce((t, r) => t + r.reserved, 0);
          const available = rep.pool + reports.reduce((t, r) => t + r.free, 0);
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
