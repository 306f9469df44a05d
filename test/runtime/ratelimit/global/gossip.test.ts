import fc from "fast-check";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../../runtime/common/clock.js";
import { LeaseSync } from "../../../../runtime/ratelimit/global/sync.js";
import { GlobalAllocator, type ResourceConfig } from "../../../../runtime/ratelimit/global/allocator.js";
import { GossipAllocator, type Announcement } from "../../../../runtime/ratelimit/global/gossip.js";
import { joinGossip, requestCapacity, serveAllocator } from "../../../../runtime/ratelimit/global/nats.js";

const cfg = (capacity: number, forecast?: ResourceConfig["forecast"]): ResourceConfig => ({
  id: "api",
  capacity,
  algorithm: "fair",
  leaseMs: 3000,
  refreshMs: 1000,
  ...(forecast ? { forecast } : {}),
});
const FORECAST = { history: 8, seasonLength: 4 };

describe("gossip coordination", () => {
  it("keeps Σ has ≤ capacity when announcements arrive within one refresh, with and without forecasts (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 5, maxLength: 5 }),
        fc.option(fc.record({ history: fc.integer({ min: 3, max: 10 }), seasonLength: fc.integer({ min: 2, max: 4 }) }), { nil: undefined }),
        (n, rounds, phases, forecast) => {
          const regions = Array.from({ length: n }, (_, i) => new GossipAllocator(cfg(100, forecast), `r${i}`, n));
          const has = new Array<number>(n).fill(0);
          let inFlight: Announcement[] = [];
          for (const [k, wants] of rounds.entries()) {
            // Each region syncs once per round at its own phase; what was sent last round is delivered first.
            for (const a of inFlight) regions.forEach((r) => r.receive(a));
            const sent: Announcement[] = [];
            const order = regions.map((_, i) => i).sort((a, b) => phases[a]! - phases[b]!);
            for (const i of order) {
              const { lease, announce } = regions[i]!.lease(wants[i]!, k * 1000 + phases[i]!);
              has[i] = lease.has;
              sent.push(announce);
              expect(has.reduce((s, x) => s + x, 0)).toBeLessThanOrEqual(100 + 1e-9);
            }
            inFlight = sent;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("gives a climbing region its share earlier with forecasts than without", () => {
    /** A climbs 10, 20, 30, … per refresh against B's steady 60 on 100; A's has, round by round. */
    const climb = (forecast?: ResourceConfig["forecast"]) => {
      const [a, b] = ["a", "b"].map((c) => new GossipAllocator(cfg(100, forecast), c, 2));
      const has: number[] = [];
      for (let k = 0; k < 8; k++) {
        const la = a!.lease(10 * (k + 1), k * 1000);
        const lb = b!.lease(60, k * 1000 + 1);
        a!.receive(lb.announce);
        b!.receive(la.announce);
        has.push(la.lease.has);
      }
      return has;
    };
    const without = climb();
    const withForecast = climb(FORECAST);
    // B's steady 60 yields to A's predicted climb a round sooner, so A never holds less and reaches 90 % of its
    // fair 50 a round earlier.
    withForecast.forEach((h, k) => expect(h).toBeGreaterThanOrEqual(without[k]! - 1e-9));
    const firstAt = (has: number[]) => has.findIndex((h) => h >= 45);
    expect([firstAt(without), firstAt(withForecast)]).toEqual([7, 6]);
  });

  it("announces what it predicted, and a peer's prediction counts in its share", () => {
    const a = new GossipAllocator(cfg(100, FORECAST), "a", 2);
    let announce: Announcement | undefined;
    for (let k = 0; k < 4; k++) announce = a.lease(10 * (k + 1), k * 1000).announce;
    // Holt's trend on 10, 20, 30, 40.
    expect(announce).toMatchObject({ wants: 40, predicted: 50 });
    const b = new GossipAllocator(cfg(100), "b", 2);
    b.receive(announce!);
    // Max-min over (b's 90, a's predicted 50): b is entitled to 50, not the 60 a's wants would leave.
    for (let k = 0; k < 40; k++) b.lease(90, 3000 + k);
    expect(b.lease(90, 3100).lease.has).toBeCloseTo(50, 6);
    expect(new GossipAllocator(cfg(100), "c", 2).lease(10, 0).announce).not.toHaveProperty("predicted");
    expect(() => new GossipAllocator(cfg(100, { history: 2, seasonLength: 4 }), "d", 2)).toThrow(/history ≥ 3/);
  });

  it("converges to the max-min fair share", () => {
    const rs = ["a", "b", "c"].map((c) => new GossipAllocator(cfg(120), c, 3));
    const wants = [1000, 50, 10];
    let has: number[] = [];
    for (let round = 0; round < 30; round++) {
      const out = rs.map((r, i) => r.lease(wants[i]!, round * 1000));
      for (const o of out) rs.forEach((r) => r.receive(o.announce));
      has = out.map((o) => o.lease.has);
    }
    expect(has.map((h) => Math.round(h * 100) / 100)).toEqual([60, 50, 10]);
  });
});

describe("NATS transports (real NATS)", () => {
  let nc: NatsConnection;
  const subject = `meridian.test.ratelimit.${process.pid}`;
  beforeAll(async () => {
    nc = await connect({ servers: "127.0.0.1:4222" });
  });
  afterAll(async () => {
    await nc.drain();
  });

  it("serves GetCapacity over request/reply and refuses malformed requests", async () => {
    const clock = new ManualClock(0);
    const sub = serveAllocator(nc, subject, new GlobalAllocator([cfg(120)]), clock);
    expect(await requestCapacity(nc, subject, "api", "eu", 50)).toMatchObject({ has: 50, expiresAt: 3000, refreshMs: 1000 });
    expect(await requestCapacity(nc, subject, "api", "us", 1000)).toMatchObject({ has: 70 });
    await expect(requestCapacity(nc, subject, "api", "us", -1)).rejects.toThrow(/allocator refused: wants: Too small/);
    await expect(requestCapacity(nc, subject, "nope", "us", 1)).rejects.toThrow(/unknown resource "nope"/);
    sub.unsubscribe();
  });

  it("gossips announcements between regions", async () => {
    const a = new GossipAllocator(cfg(100, FORECAST), "a", 2);
    const b = new GossipAllocator(cfg(100), "b", 2);
    const ga = joinGossip(nc, subject, a, "api");
    const gb = joinGossip(nc, subject, b, "api");
    await nc.flush();
    ga.publish(a.lease(80, 0).announce);
    gb.publish(b.lease(80, 0).announce);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 50));
    expect(a.view().map((p) => p.client)).toEqual(["b"]);
    expect(b.view()[0]).toMatchObject({ client: "a", wants: 80, has: 50 });
    // What a forecast travels with its announcement.
    expect(b.view()[0]!.predicted).toBeGreaterThanOrEqual(80);
    ga.subscription.unsubscribe();
    gb.subscription.unsubscribe();
  });

  it("lets regions lease to themselves by gossip and stay within capacity (real NATS)", async () => {
    const resource = `gossip-${process.pid}`;
    const config: ResourceConfig = { id: resource, capacity: 100, algorithm: "fair", leaseMs: 1000, refreshMs: 50 };
    const regions = ["eu", "us", "ap"].map((client) => {
      const gossip = new GossipAllocator(config, client, 3);
      const bus = joinGossip(nc, subject, gossip, resource);
      const sync = new LeaseSync(
        (wants, now) => {
          const { lease, announce } = gossip.lease(wants, now);
          bus.publish(announce);
          return Promise.resolve(lease);
        },
        systemClock,
        { resource, client, initialWants: 100 },
      );
      return { gossip, bus, sync };
    });
    regions.forEach((r) => r.sync.start());
    // Every region has demand above its fair share, so each keeps wanting more than a third.
    for (const end = Date.now() + 600; Date.now() < end;) {
      for (const r of regions) for (let i = 0; i < 5; i++) r.sync.tryAcquire(1);
      await new Promise((r) => setTimeout(r, 5));
    }
    const has = regions.map((r) => r.sync.limiter.current?.has ?? 0);
    regions.forEach((r) => {
      r.sync.stop();
      r.bus.subscription.unsubscribe();
    });
    expect(has.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100 + 1e-9);
    expect(Math.min(...has)).toBeGreaterThan(0);
    expect(
      regions[0]!.gossip
        .view()
        .map((p) => p.client)
        .sort(),
    ).toEqual(["ap", "us"]);
  });
});
