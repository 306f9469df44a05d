// The HLC epoch on NATS (runtime/clock/propagation.ts through runtime/ratelimit/global/nats.ts), against the
// real nats-server: after a reset, messages stamped with the old epoch are dropped (gossip) or refused
// (GetCapacity), counted and logged; the current epoch's messages, and epoch-less ones from senders that
// predate epochs, are processed.
import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock, systemClock } from "../../../../runtime/common/clock.js";
import { ClockNode, natsHlc, type NatsRefusal } from "../../../../runtime/clock/index.js";
import { GlobalAllocator, type ResourceConfig } from "../../../../runtime/ratelimit/global/allocator.js";
import { GossipAllocator, type Announcement } from "../../../../runtime/ratelimit/global/gossip.js";
import { joinGossip, requestCapacity, serveAllocator } from "../../../../runtime/ratelimit/global/nats.js";

const cfg: ResourceConfig = { id: "api", capacity: 100, algorithm: "fair", leaseMs: 3000, refreshMs: 1000 };
const node = (epoch: number) => {
  const n = new ClockNode({ clock: systemClock, maxOffsetMs: 500 });
  if (epoch > 0) {
    const atMicros = Date.now() * 1000;
    n.setEpoch({ epoch, lastReset: { epoch, atMicros, at: new Date(atMicros / 1000).toISOString(), reason: "test reset", fromWallMicros: atMicros + 60e6, toWallMicros: atMicros } });
  }
  return n;
};
const refusals = async (n: ClockNode, reason: string) => {
  const m = (await n.metrics.registry.getSingleMetric("meridian_hlc_message_refusals_total")!.get()).values.find((v) => v.labels.reason === reason && v.labels.transport === "nats");
  return m?.value ?? 0;
};

describe("HLC epoch on NATS (real NATS)", () => {
  let nc: NatsConnection;
  const subject = `meridian.test.hlcepoch.${process.pid}.${Date.now()}`;
  beforeAll(async () => {
    nc = await connect({ servers: "127.0.0.1:4222" });
  });
  afterAll(async () => {
    await nc.drain();
  });

  it("gossip: an announcement from an old epoch is dropped (metric, log); the current epoch's and an epoch-less one are received", async () => {
    const receiver = node(1);
    const warned: NatsRefusal[] = [];
    const gossip = new GossipAllocator(cfg, "eu", 4);
    const received: string[] = [];
    const receive = gossip.receive.bind(gossip);
    vi.spyOn(gossip, "receive").mockImplementation((a: Announcement) => (received.push(a.client), receive(a)));
    const sub = joinGossip(nc, subject, gossip, "api", { node: receiver, warn: (r) => warned.push(r) });
    const stale = joinGossip(nc, subject, new GossipAllocator(cfg, "stale", 4), "api", { node: node(0), warn: () => {} });
    const fresh = joinGossip(nc, subject, new GossipAllocator(cfg, "fresh", 4), "api", { node: node(1), warn: () => {} });
    const legacy = joinGossip(nc, subject, new GossipAllocator(cfg, "legacy", 4), "api");
    await nc.flush();
    const at = Date.now();
    stale.publish({ resource: "api", client: "stale", wants: 90, has: 90, expiresAt: at + 3000 });
    legacy.publish({ resource: "api", client: "legacy", wants: 10, has: 10, expiresAt: at + 3000 });
    fresh.publish({ resource: "api", client: "fresh", wants: 10, has: 10, expiresAt: at + 3000 });
    // One connection delivers in publish order: once "fresh" is in, "stale" and "legacy" were handled.
    await vi.waitFor(() => expect(received).toContain("fresh"), { timeout: 5000 });
    expect(received.filter((c) => c !== "eu")).toEqual(["legacy", "fresh"]);
    expect(gossip.view().map((p) => p.client)).not.toContain("stale");
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ subject: `${subject}.gossip.api`, reason: "reset" });
    expect(warned[0]!.detail).toMatch(/HLC epoch 0; this clock was reset to epoch 1/);
    expect(await refusals(receiver, "reset")).toBe(1);
    for (const g of [sub, stale, fresh, legacy]) g.subscription.unsubscribe();
  });

  it("GetCapacity: a request from an old epoch is answered 'hlc reset', never a lease; the current epoch's gets one", async () => {
    const server = node(2);
    const warned: NatsRefusal[] = [];
    const allocator = new GlobalAllocator([cfg]);
    const sub = serveAllocator(nc, subject, allocator, new ManualClock(0), { node: server, warn: (r) => warned.push(r) });
    await nc.flush();
    await expect(requestCapacity(nc, subject, "api", "stale", 50, 2000, { node: node(1), warn: () => {} })).rejects.toThrow(/allocator refused: hlc reset: .*epoch 1; this clock was reset to epoch 2/);
    expect(warned.map((w) => w.reason)).toEqual(["reset"]);
    expect(await refusals(server, "reset")).toBe(1);
    const client = node(2);
    expect(await requestCapacity(nc, subject, "api", "eu", 50, 2000, { node: client })).toMatchObject({ has: 50 });
    // The old epoch's request leased nothing: the whole remainder is still there.
    expect(await requestCapacity(nc, subject, "api", "us", 1000, 2000)).toMatchObject({ has: 50 });
    sub.unsubscribe();
  });

  it("a lease in a reply from an older epoch than the client's is refused, not used", async () => {
    // An allocator that predates the reset (stamps epoch 0, checks nothing) answers with a lease.
    const old = node(0);
    const sub = nc.subscribe(`${subject}.old.getcapacity.*`, {
      callback: (_err, msg) => {
        const h = natsHeaders();
        natsHlc.inject(h, old);
        msg.respond(new TextEncoder().encode(JSON.stringify({ resource: "api", client: "eu", wants: 10, has: 10, expiresAt: 3000, refreshMs: 1000 })), { headers: h });
      },
    });
    await nc.flush();
    expect(await requestCapacity(nc, `${subject}.old`, "api", "eu", 10, 2000, { node: node(0) })).toMatchObject({ has: 10 });
    const client = node(3);
    const warned: NatsRefusal[] = [];
    await expect(requestCapacity(nc, `${subject}.old`, "api", "eu", 10, 2000, { node: client, warn: (r) => warned.push(r) })).rejects.toThrow(
      /allocator reply refused: hlc reset: .*epoch 0; this clock was reset to epoch 3/,
    );
    expect(warned.map((w) => w.reason)).toEqual(["reset"]);
    expect(await refusals(client, "reset")).toBe(1);
    sub.unsubscribe();
  });
});
