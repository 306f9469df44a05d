/**
 * Liveness after a region dies (kill -9), deterministically: three region processes (one EscrowService
 * each) over one store, a manual clock, 1,500 buyers for 600 units, as in load.test.ts but without
 * sockets or timing. Mid-sale one region stops for good — its open reservations, its free units and its
 * buyers' holds go with it — and its buyers fail over to the next region. Within the lease TTL plus one
 * reservation TTL the dead region's units must be back where the survivors can sell them, the sale must
 * sell out through the survivors, and at every step nothing is oversold and the units add up.
 * Then the two ways a survivor could starve: a retry storm in a dry survivor (its peers' units locked in
 * the dead lease until it lapses) queueing one store round trip per request ahead of the tick that
 * reclaims and refills, and a dry region under steady retries never reconciling units its store lease
 * holds but its ledger lost.
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { RegionEscrow } from "../../../runtime/escrow/region.js";
import { DEFAULT_POLICY, type RebalancePolicy } from "../../../runtime/escrow/core/rebalance.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { conservationDrift, type EscrowStore } from "../../../runtime/escrow/store/port.js";
import { testConfig } from "./fixture.js";

const REGIONS = ["kill-a", "kill-b", "kill-c"];
const TOTAL = 600;
const BUYERS = 1500;
const TICK_MS = 200;
const LEASE_TTL_MS = 3_000;
const RESERVATION_TTL_MS = 5_000;
const policy: RebalancePolicy = { ...DEFAULT_POLICY, batchSize: 5, reorderPoint: 1, horizonSeconds: 1 };
const buyer = (user: string) => ({ user, tier: "standard", weight: 1, admin: false });
const allow = { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) };

async function sale(store: EscrowStore, clock: ManualClock) {
  const services = await Promise.all(
    REGIONS.map(async (region) => {
      const peers = Object.fromEntries(REGIONS.filter((r) => r !== region).map((r) => [r, `http://${r}.invalid`]));
      const config = await testConfig([region], {
        rebalanceIntervalSeconds: TICK_MS / 1000,
        leaseTtlSeconds: LEASE_TTL_MS / 1000,
        reservationTtlSeconds: RESERVATION_TTL_MS / 1000,
        peers,
        admission: { perUserLimit: 2, maxConcurrentCheckouts: 400, userRatePerSecond: 50, userBurst: 50 },
        waitingRoom: { trancheSize: 200 },
      });
      return new EscrowService({ config, store, limiter: allow, clock, rng: () => 0.5 });
    }),
  );
  expect((await services[0]!.createItem("tix", TOTAL)).outcome).toBe("created");
  return { clock, services };
}

/** The store, calling `onAcquire` before every lease renewal or refill. */
function countingAcquires(inner: EscrowStore, onAcquire: () => void): EscrowStore {
  return new Proxy(inner, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (key === "acquire") onAcquire();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe("escrow liveness after a region is killed mid-sale", () => {
  it("the survivors sell every remaining unit within the lease and reservation TTLs; nothing oversold", async () => {
    const inner = new MemoryEscrowStore();
    const clock = new ManualClock(1_700_000_000_000);
    // Each lease renewal takes 30 ms of the sale's time (a busy store), so time passes while regions wait on it.
    const store = countingAcquires(inner, () => clock.advance(30));
    const { services } = await sale(store, clock);
    const dead = new Set<number>();
    const done = new Map<string, "bought" | "sold-out">();
    let sold = 0;
    let killedAt = -1;
    const startMs = clock.now();
    let pending: [string, number, string][] = []; // reserved in one round, committed in the next
    let next = 0;
    for (let round = 0; round < 2_000 && done.size < BUYERS; round++) {
      // Mid-sale, with reservations open in every region, one region is killed between its buyers'
      // reserve and commit: its reservations, free units and in-process state are gone.
      if (killedAt < 0 && sold >= TOTAL / 3) {
        expect(pending.some(([, home]) => home === 2)).toBe(true);
        dead.add(2);
        killedAt = clock.now();
      }
      for (const [user, home, id] of pending) {
        if (dead.has(home)) continue; // the buyer's commit fails (the region is gone); they reserve again
        const c = await services[home]!.commit(id, buyer(user));
        if (c.status === "sold") {
          expect(c.duplicate).toBe(false);
          sold++;
          done.set(user, "bought");
        }
      }
      pending = [];
      // 60 buyers a round (300 a second), in turn, their requests in flight together as on a server.
      const turn: [string, number][] = [];
      for (; turn.length < 60 && done.size + turn.length < BUYERS; next = (next + 1) % BUYERS) {
        const user = `buyer-${next}`;
        if (done.has(user)) continue;
        let home = next % 3;
        while (dead.has(home)) home = (home + 1) % 3; // the GSLB fails the buyer over
        turn.push([user, home]);
      }
      const answers = await Promise.all(turn.map(([user, home]) => services[home]!.reserve(REGIONS[home]!, "tix", buyer(user), 1)));
      for (const [k, r] of answers.entries()) {
        const [user, home] = turn[k]!;
        if (r?.status === "reserved") pending.push([user, home, r.reservation.id]);
        else if (r?.status === "sold-out") done.set(user, "sold-out");
        else if (r?.status === "forbidden") throw new Error(`${user}: ${r.detail}`);
      }
      clock.advance(TICK_MS);
      for (const [k, s] of services.entries()) if (!dead.has(k)) await s.tick();
      const audit = (await store.audit("tix", clock.now()))!;
      expect(conservationDrift(audit)).toBe(0);
      expect(audit.sold).toBeLessThanOrEqual(TOTAL);
      expect(audit.sold).toBe(sold);
      if (killedAt >= 0 && clock.now() > killedAt + LEASE_TTL_MS + TICK_MS) {
        // The dead region's lease has lapsed and its units went back to the pool for the survivors.
        expect(audit.leases[REGIONS[2]!]).toMatchObject({ live: false, held: 0 });
      }
    }
    expect(killedAt).toBeGreaterThan(startMs);
    expect(sold).toBe(TOTAL);
    expect([...done.values()].filter((d) => d === "bought")).toHaveLength(TOTAL);
    expect(done.size).toBe(BUYERS);
    // Everything the dead region held was sold by the others: it sold only what it had before the kill.
    const audit = (await store.audit("tix", clock.now()))!;
    expect(audit).toMatchObject({ sold: TOTAL, pool: 0 });
    for (const l of Object.values(audit.leases)) expect(l.held).toBe(0);
    // Bounded: sold out within the lease TTL, one reservation TTL and a few seconds of selling after the kill.
    expect(clock.now() - killedAt).toBeLessThanOrEqual(LEASE_TTL_MS + RESERVATION_TTL_MS + 10_000);
  });

  it("while the dead region's lease is still live, a dry survivor answers a retry storm with one store read, not one per request", async () => {
    const clock = new ManualClock(1_000_000);
    const inner = new MemoryEscrowStore();
    let acquires = 0;
    const store = countingAcquires(inner, () => acquires++);
    await store.createItem("sku", 20, {}, clock.now());
    const opts = { sku: "sku", store, clock, reservationTtlMs: RESERVATION_TTL_MS, leaseTtlMs: LEASE_TTL_MS, policy };
    const a = new RegionEscrow({ ...opts, region: "a", initialWant: 0 });
    const c = new RegionEscrow({ ...opts, region: "c", initialWant: 20 });
    await a.start();
    await c.start(); // c holds everything, then is killed: it never renews again
    clock.advance(1_000); // a's view of the store is stale: its next answer needs a fresh one
    acquires = 0;
    const storm = await Promise.all(Array.from({ length: 200 }, (_, i) => a.reserve(`u${i}`, 1)));
    expect(storm.every((r) => r.status === "retry")).toBe(true);
    // One shared read for the 200 requests (and the borrow request it publishes); not 200 queued round trips.
    expect(acquires).toBeLessThanOrEqual(3);
    // Once c's lease lapses, a's next tick reclaims its units and a sells them.
    clock.advance(LEASE_TTL_MS);
    await a.tick();
    expect((await a.reserve("late", 1)).status).toBe("reserved");
  });

  it("a dry region under steady retries still reconciles: units its store lease holds but its ledger lost are sold", async () => {
    const clock = new ManualClock(1_000_000);
    const inner = new MemoryEscrowStore();
    let loseNextReply = false;
    // The store grants a refill but its reply is lost (a connection reset after COMMIT, a timeout).
    const store: EscrowStore = new Proxy(inner, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof v !== "function") return v;
        return async (...args: unknown[]) => {
          const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          if (key === "acquire" && loseNextReply && (args[0] as { want: number }).want > 0) {
            loseNextReply = false;
            throw new Error("connection reset");
          }
          return out;
        };
      },
    });
    await store.createItem("sku", 10, {}, clock.now());
    const a = new RegionEscrow({ sku: "sku", region: "a", store, clock, reservationTtlMs: RESERVATION_TTL_MS, leaseTtlMs: LEASE_TTL_MS, policy, initialWant: 0 });
    await a.start();
    loseNextReply = true;
    let sold = 0;
    for (let round = 0; round < 50 && sold < 10; round++) {
      clock.advance(300);
      // More buyers than free units keep coming while the region ticks, so some request is always on the
      // slow path (a refill or a borrow request queued behind the tick). A request whose refill failed is
      // answered 503 by the service: here, null.
      const storm = Promise.all(Array.from({ length: 8 }, (_, i) => a.reserve(`u${round}-${i}`, 1).catch(() => null)));
      await a.tick();
      for (const r of await storm) if (r?.status === "reserved" && (await a.commit(r.reservation.id)).status === "sold") sold++;
    }
    expect(sold).toBe(10);
    expect(a.drift.some((d) => d.correction === "credited")).toBe(true);
    const audit = (await store.audit("sku", clock.now()))!;
    expect(audit).toMatchObject({ sold: 10, pool: 0 });
    expect(conservationDrift(audit)).toBe(0);
  });
});
