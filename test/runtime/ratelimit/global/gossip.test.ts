import fc from "fast-check";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../../runtime/common/clock.js";
import { LeaseSync } from "../../../../runtime/ratelimit/global/sync.js";
import { GlobalAllocator, type ResourceConfig } from "../../../../runtime/ratelimit/global/allocator.js";
import { GossipAllocator, type Announcement } from "../../../../runtime/ratelimit/global/gossip.js";
import { joinGossip, requestCapacity, serveAllocator } from "../../../../runtime/ratelimit/global/nats.js";

const cfg = (capacity: number): ResourceConfig => ({ id: "api", capacity, algorithm: "fair", leaseMs: 3000, refreshMs: 1000 });

describe("gossip coordination", () => {
  it("keeps Σ has ≤ capacity when announcements arrive within one refresh (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 5, maxLength: 5 }),
        (n, rounds, phases) => {
          const regions = Array.from({ length: n }, (_, i) => new GossipAllocator(cfg(100), `r${i}`, n));
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
    const a = new GossipAllocator(cfg(100), "a", 2);
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
