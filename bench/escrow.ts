/**
 * bench/escrow: sales admitted per second on the escrow's local fast path (three regions in one
 * process over the Redis store: each sale a reservation held in the region's ledger — O(1), no I/O —
 * with refills pulled from the global pool in batches when a region runs dry) beside the central
 * alternative — one Redis DECRBY per sale, 256 in flight — in the same run, each selling a fixed
 * inventory to exhaustion and counting oversell. A third row prices the durable commit: reserve plus
 * the lease-fenced sale write per unit through the same Redis store.
 * Then the end-to-end HTTP rows (lib/escrow-http.ts): `meridian escrow serve` on the durable store beside
 * a plain Redis DECRBY + PostgreSQL INSERT service and a bare HTTP server, 64 clients, in the same run, all
 * driven by wrk (lib/escrow-sales.lua; `apt-get install -y wrk`, checked before anything runs).
 * Redis DB 3, keys under mes:bench:… (deleted afterwards).
 */
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { row, report } from "./lib/report.js";
import { httpSalesRows, requireWrk } from "./lib/escrow-http.js";
import { systemClock } from "../runtime/common/clock.js";
import { RegionEscrow } from "../runtime/escrow/region.js";
import { coarseClock } from "../runtime/escrow/coarse-clock.js";
import { RedisEscrowStore } from "../runtime/escrow/store/redis.js";

requireWrk();
const URL = "redis://127.0.0.1:6379/3";
const prefix = `mes:bench:${randomBytes(3).toString("hex")}:`;
const store = new RedisEscrowStore({ url: URL, prefix });
const redis = new Redis(URL);
const regions = ["us-east", "eu-west", "ap-southeast"];
// Refill batches of 50,000 (1.7% of the inventory) with a reorder point of 20,000 — the (r, Q) policy.
const policy = { mode: "hybrid" as const, batchSize: 50_000, reorderPoint: 20_000, horizonSeconds: 5, maxWaiters: 1024 };

async function escrowFastPath(total: number, sku = "fast"): Promise<{ perSecond: number; sold: number }> {
  await store.createItem(sku, total, {});
  // Reservations are timestamped from a 1 ms coarse clock: reading the system clock per sale costs
  // more than the sale itself.
  const clock = coarseClock(systemClock, 1);
  const es = regions.map((region) => new RegionEscrow({ sku, region, store, clock, reservationTtlMs: 3_600_000, leaseTtlMs: 60_000, policy, initialWant: Math.floor(total / 10) }));
  for (const e of es) await e.start();
  let sold = 0;
  let dry = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; dry < regions.length; i++) {
    const e = es[i % 3]!;
    // The fast path: an O(1) ledger reservation, no I/O, no allocation; at the reorder point a refill
    // starts in the background. A server's event loop turns between requests; here it turns every 4096.
    if ((i & 4095) === 0) await new Promise((r) => setImmediate(r));
    if (e.tryReserveSeq("u", 1) >= 0 || (await e.reserve("u", 1)).status === "reserved") {
      sold++;
      dry = 0;
    } else dry++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  clock.stop();
  return { perSecond: sold / seconds, sold };
}

async function centralDecrby(total: number, name = "decr"): Promise<{ perSecond: number; sold: number }> {
  const key = `${prefix}${name}`;
  await redis.set(key, total);
  let sold = 0;
  let soldOut = false;
  const worker = async () => {
    while (!soldOut) {
      const left = await redis.decrby(key, 1);
      if (left >= 0) sold++;
      else {
        soldOut = true;
        await redis.incrby(key, 1); // give the overdrawn unit back, as a real system must
      }
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 256 }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: sold / seconds, sold };
}

async function durableSales(total: number): Promise<{ perSecond: number; sold: number }> {
  const sku = "durable";
  await store.createItem(sku, total, {});
  const e = new RegionEscrow({ sku, region: "us-east", store, clock: systemClock, reservationTtlMs: 3_600_000, leaseTtlMs: 60_000, policy, initialWant: total });
  await e.start();
  let sold = 0;
  const worker = async () => {
    for (;;) {
      const r = e.tryReserve("u", 1);
      if (!r) return;
      const c = await e.commit(r.id);
      if (c.status === "sold") sold++;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 256 }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: sold / seconds, sold };
}

const FAST_TOTAL = 3_000_000;
const DECR_TOTAL = 300_000;
const DURABLE_TOTAL = 100_000;
try {
  // Warm both sides up (JIT, connections) before measuring.
  await escrowFastPath(100_000, "warm");
  await centralDecrby(20_000, "warm");
  const ours = await escrowFastPath(FAST_TOTAL);
  const peer = await centralDecrby(DECR_TOTAL);
  const durable = await durableSales(DURABLE_TOTAL);
  const audit = (await store.audit("fast", systemClock.now()))!;
  const oversell = Math.max(0, ours.sold - FAST_TOTAL) + Math.max(0, peer.sold - DECR_TOTAL) + Math.max(0, durable.sold - DURABLE_TOTAL);
  if (ours.sold !== FAST_TOTAL || audit.pool !== 0 || peer.sold !== DECR_TOTAL || durable.sold !== DURABLE_TOTAL) {
    throw new Error(`inventory mismatch: escrow ${ours.sold}/${FAST_TOTAL} (pool ${audit.pool}), DECRBY ${peer.sold}/${DECR_TOTAL}, durable ${durable.sold}/${DURABLE_TOTAL}`);
  }
  const http = await httpSalesRows();
  report("escrow", [
    row(
      "sales admitted, local fast path vs central DECRBY",
      "sales/s",
      ours.perSecond,
      peer.perSecond,
      `escrow: 3 regions, ${FAST_TOTAL.toLocaleString("en-US")} units, refills of ${policy.batchSize.toLocaleString("en-US")} pulled from Redis; DECRBY: 256 in flight, ${DECR_TOTAL.toLocaleString("en-US")} units`,
    ),
    row(
      "durable sales (reserve + lease-fenced Lua sale write) vs central DECRBY",
      "sales/s",
      durable.perSecond,
      peer.perSecond,
      "256 in flight; group commit: sales that arrive while a Lua write is in flight share the next one",
    ),
    ...http.rows,
    row("units oversold (all runs)", "units", oversell + http.oversold, null, "every in-process run sold its inventory exactly; over HTTP, sold = acknowledged in store and journal"),
  ]);
} finally {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await store.close();
}
