/**
 * A flash sale driven through the escrow HTTP API (in process) by concurrent verified buyers, with a
 * hook to inject a store fault when a given number of units has been acknowledged — and the exact
 * checks the fault tests make afterwards: acknowledged units = units sold = the inventory, nothing
 * beyond it, conservation, and every acknowledged commit replaying as a duplicate to its buyer.
 */
import { expect } from "vitest";
import type { FastifyInstance } from "fastify";
import { EscrowService } from "../../../../runtime/escrow/service.js";
import { buildEscrowApp } from "../app.js";
import type { EscrowConfig } from "../../../../runtime/escrow/config.js";
import { conservationDrift, type EscrowStore } from "../../../../runtime/escrow/store/port.js";
import { as, testConfig } from "../fixture.js";

export const REGIONS = ["fault-a", "fault-b", "fault-c"];

/**
 * The fault tests' sale of `total` units: a tenth held in the global pool, the rest split evenly between the three
 * regions, refilled `batchSize` at a time from `reorderPoint`; fast rebalancing, short leases, buyers never throttled.
 */
export function faultSaleConfig(sku: string, total: number, o: { batchSize: number; reorderPoint: number; leaseTtlSeconds?: number; reservationTtlSeconds?: number }): Promise<EscrowConfig> {
  const reserve = total / 10;
  const each = (total - reserve) / REGIONS.length;
  return testConfig(REGIONS, {
    rebalanceIntervalSeconds: 0.1,
    leaseTtlSeconds: o.leaseTtlSeconds ?? 2,
    reservationTtlSeconds: o.reservationTtlSeconds ?? 30,
    admission: { perUserLimit: 1000, userRatePerSecond: 1000, userBurst: 1000, maxConcurrentCheckouts: 10_000 },
    skus: [
      {
        sku,
        total,
        globalReserve: reserve,
        allocation: Object.fromEntries(REGIONS.map((r) => [r, each])),
        refill: { batchSize: o.batchSize, reorderPoints: Object.fromEntries(REGIONS.map((r) => [r, o.reorderPoint])) },
      },
    ],
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SaleRun {
  /** Acknowledged sales (each id's first 200): reservation id → buyer and units. */
  acked: Map<string, { user: string; qty: number }>;
  statuses: Record<number, number>;
  /** Commits whose buyer gave up on 503s (the store down long enough): each may have sold or not (settleInDoubt). */
  unanswered: Map<string, { user: string; qty: number }>;
}

export function openService(config: EscrowConfig, store: EscrowStore): { service: EscrowService; app: FastifyInstance } {
  const service = new EscrowService({ config, store, limiter: { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) } });
  const app = buildEscrowApp(service);
  service.start();
  return { service, app };
}

/** Buyers reserve 1–2 units in a random region and commit; `fault` runs once `faultAt` units are acknowledged. */
export async function runSale(
  app: FastifyInstance,
  sku: string,
  o: { buyers: number; faultAt: number[]; fault: (i: number, acked: ReadonlyMap<string, { user: string; qty: number }>) => Promise<void>; deadlineMs?: number },
): Promise<SaleRun> {
  const acked = new Map<string, { user: string; qty: number }>();
  const unanswered = new Map<string, { user: string; qty: number }>();
  const statuses: Record<number, number> = {};
  let units = 0;
  let soldOut = false;
  const deadline = Date.now() + (o.deadlineMs ?? 120_000);
  const details = new Map<string, number>();
  const note = (s: number, body?: string) => {
    statuses[s] = (statuses[s] ?? 0) + 1;
    if (body && s >= 400) details.set(`${s} ${body.slice(0, 160)}`, (details.get(`${s} ${body.slice(0, 160)}`) ?? 0) + 1);
  };
  const buyer = async (b: number) => {
    const user = `buyer-${b}`;
    const auth = await as(user);
    let soldOutSeen = 0;
    for (let n = 0; !soldOut && Date.now() < deadline; n++) {
      const region = REGIONS[(b + n) % REGIONS.length]!;
      const qty = 1 + ((b + n) % 2);
      const r = await app.inject({ method: "POST", url: `/v1/inventory/${sku}/reservations`, headers: { ...auth, "x-region": region }, payload: { qty } });
      note(r.statusCode, r.body);
      if (r.statusCode === 409) {
        // A sold-out answer can be a moment early (a unit in a commit the store then refuses comes
        // back): look again, as buyers refreshing the page do, before giving up.
        if (r.json().error === "sold out" && ++soldOutSeen >= 3) soldOut = true;
        if (r.json().error !== "sold out") soldOutSeen = 0;
        await sleep(r.json().error === "sold out" ? 300 : 20);
        continue;
      }
      if (r.statusCode !== 201) {
        await sleep(r.statusCode === 503 ? 100 : 20);
        continue;
      }
      const id = r.json().reservationId as string;
      unanswered.set(id, { user, qty });
      for (let c = 0; c < 50; c++) {
        const done = await app.inject({ method: "POST", url: `/v1/reservations/${id}/commit`, headers: { ...auth, "x-region": REGIONS[(b + n + c) % REGIONS.length]! } });
        note(done.statusCode, done.body);
        if (done.statusCode === 200) {
          // The first 200 is the buyer's acknowledgment (a "duplicate" when an earlier attempt's answer was lost).
          expect(acked.has(id)).toBe(false);
          acked.set(id, { user, qty });
          unanswered.delete(id);
          units += qty;
          break;
        }
        if (done.statusCode === 503) {
          await sleep(100); // the store is down or failing over: the reservation stands; retry the commit
          continue;
        }
        unanswered.delete(id);
        break; // 409 void / 410 expired / 404: reserve again
      }
    }
  };
  const faults = (async () => {
    for (const [i, at] of o.faultAt.entries()) {
      while (units < at && !soldOut && Date.now() < deadline) await sleep(5);
      await o.fault(i, acked);
    }
  })();
  const progress = setInterval(() => {
    if (process.env["ESCROW_FAULT_DEBUG"]) console.log(`units ${units} soldOut ${soldOut} ${JSON.stringify(statuses)}\n${[...details].map(([k, v]) => `  ${v}× ${k}`).join("\n")}`);
  }, 2000);
  await Promise.all([...Array.from({ length: o.buyers }, (_, b) => buyer(b)), faults]).finally(() => clearInterval(progress));
  expect(soldOut, `the sale did not sell out before its deadline: ${JSON.stringify(statuses)}`).toBe(true);
  return { acked, statuses, unanswered };
}

/**
 * A commit its buyer gave up on after 503s may have sold (the store applied it, or the region re-sent it once the
 * store was back): retried now, its answer tells; one that sold is an acknowledged sale.
 */
export async function settleUnanswered(app: FastifyInstance, run: SaleRun): Promise<void> {
  for (const [id, a] of run.unanswered) {
    for (let i = 0; ; i++) {
      const r = await app.inject({ method: "POST", url: `/v1/reservations/${id}/commit`, headers: { ...(await as(a.user)), "x-region": REGIONS[i % REGIONS.length]! } });
      if (r.statusCode === 503 && i < 50) {
        await sleep(100);
        continue;
      }
      if (r.statusCode === 200) run.acked.set(id, a);
      else expect([404, 409, 410], `${id}: ${r.body}`).toContain(r.statusCode);
      break;
    }
  }
  run.unanswered.clear();
}

/** The exact checks: acknowledged = sold = total, conservation, and every acknowledged commit replays as a duplicate. */
export async function checkExact(app: FastifyInstance, service: EscrowService, sku: string, total: number, run: SaleRun): Promise<void> {
  const ackedUnits = [...run.acked.values()].reduce((s, a) => s + a.qty, 0);
  // Let reservations settle: a final tick or two, then the inventory adds up exactly.
  await service.tick();
  const view = (await app.inject({ method: "GET", url: `/v1/inventory/${sku}`, headers: { "x-region": REGIONS[0]! } })).json() as { total: number; sold: number; reserved: number; available: number };
  expect(view.total).toBe(total);
  expect(view.sold).toBe(total); // nothing sold beyond the inventory, and it all sold
  expect(ackedUnits).toBe(view.sold); // every acknowledged unit is a sold unit; no sale without an acknowledgment
  expect(view.sold + view.reserved + view.available).toBe(total);
  // That sum holds by construction (available = total − sold − reserved): the parts must be right on their own. Sold
  // out, no unit can be reserved or available, and the store's account balances (pool + Σ held + sold = total).
  expect({ reserved: view.reserved, available: view.available }).toEqual({ reserved: 0, available: 0 });
  const audit = (await service["o"].store.audit(sku, Date.now()))!;
  expect(conservationDrift(audit)).toBe(0);
  expect(audit.sold).toBe(total);
  await replayAll(app, run);
}

/** Every acknowledged commit replays as a duplicate (from any region), and only to its own buyer. */
export async function replayAll(app: FastifyInstance, run: SaleRun): Promise<void> {
  let i = 0;
  for (const [id, a] of run.acked) {
    const region = REGIONS[i++ % REGIONS.length]!;
    const r = await app.inject({ method: "POST", url: `/v1/reservations/${id}/commit`, headers: { ...(await as(a.user)), "x-region": region } });
    expect(r.json(), id).toMatchObject({ status: "sold", duplicate: true, qty: a.qty });
  }
  const [someId] = run.acked.keys();
  if (someId) expect((await app.inject({ method: "POST", url: `/v1/reservations/${someId}/commit`, headers: { ...(await as("intruder")), "x-region": REGIONS[0]! } })).statusCode).toBe(404);
}
