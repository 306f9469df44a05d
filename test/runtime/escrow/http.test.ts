import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { buildEscrowApp } from "../../../runtime/escrow/http.js";
import { EscrowService, DEFAULT_SETTINGS } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/stores/memory.js";
import { DEFAULT_ADMISSION } from "../../../runtime/escrow/flashsale/sale.js";
import type { RateLimiterPort } from "../../../runtime/escrow/flashsale/ports.js";

/** A limiter fake for escrow-only tests: allows everyone except users named in `deny`. */
const limiter = (deny: string[] = []): RateLimiterPort => ({
  check: (key) => (deny.some((u) => key.endsWith(`:${u}`)) ? { allowed: false, retryAfterMs: 1500, remaining: 0 } : { allowed: true, retryAfterMs: 0, remaining: 10 }),
});

function setup(admission = {}, deny: string[] = []) {
  const clock = new ManualClock(1_700_000_000_000);
  const service = new EscrowService({
    store: new MemoryEscrowStore(),
    regions: ["eu", "us", "ap"],
    limiter: limiter(deny),
    clock,
    rng: (() => {
      let x = 0;
      return () => (x = (x * 7919 + 0.123) % 1);
    })(),
    // reorderPoint -1: no proactive refills, so each test steers its own pulls.
    settings: { reservationTtlMs: 60_000, leaseTtlMs: 5_000, policy: { ...DEFAULT_SETTINGS.policy, batchSize: 2, reorderPoint: -1 }, admission: { ...DEFAULT_ADMISSION, ...admission } },
  });
  const app = buildEscrowApp(service);
  const call = (method: "GET" | "POST" | "DELETE", url: string, body?: unknown, region: string | null = "eu") =>
    app.inject({ method, url, payload: body as object, headers: region ? { "x-region": region } : {} });
  return { clock, service, app, call };
}

describe("escrow HTTP API", () => {
  it("creates items idempotently and names what is wrong in a bad request", async () => {
    const { call } = setup();
    expect((await call("POST", "/v1/inventory/tix", { total: 10 })).statusCode).toBe(201);
    expect((await call("POST", "/v1/inventory/tix", { total: 10 })).statusCode).toBe(200);
    expect((await call("POST", "/v1/inventory/tix", { total: 11 })).statusCode).toBe(409);
    const bad = await call("POST", "/v1/inventory/tix2", { total: 1.5 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/total: expected a whole number/);
    expect((await call("POST", "/v1/inventory/bad%20sku", { total: 1 })).json().detail).toMatch(/sku/);
    const noRegion = await call("POST", "/v1/inventory/tix/reservations", { user: "a", qty: 1 }, null);
    expect(noRegion.statusCode).toBe(400);
    expect(noRegion.json().detail).toMatch(/X-Region/);
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "a", qty: 1 }, "mars")).statusCode).toBe(421);
    const extra = await call("POST", "/v1/inventory/tix/reservations", { user: "a", qty: 1, price: 0 });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().detail).toMatch(/price/);
    expect((await call("POST", "/v1/inventory/nope/reservations", { user: "a", qty: 1 })).statusCode).toBe(404);
  });

  it("reserves, commits, and the inventory always adds up; a rejected request changes nothing", async () => {
    const { call, service } = setup();
    await call("POST", "/v1/inventory/tix", { total: 5 });
    const r = await call("POST", "/v1/inventory/tix/reservations", { user: "alice", qty: 2 });
    expect(r.statusCode).toBe(201);
    const { reservationId, expiresAt } = r.json() as { reservationId: string; expiresAt: string };
    expect(new Date(expiresAt).getTime()).toBe(1_700_000_000_000 + 60_000);
    let inv = (await call("GET", "/v1/inventory/tix")).json();
    expect(inv).toMatchObject({ total: 5, sold: 0, reserved: 2, available: 3 });
    const c = await call("POST", `/v1/reservations/${reservationId}/commit`);
    expect(c.statusCode).toBe(200);
    expect(c.json()).toMatchObject({ status: "sold", qty: 2, duplicate: false });
    // Committing again from another region answers from the store: idempotent.
    expect((await call("POST", `/v1/reservations/${reservationId}/commit`, undefined, "us")).json()).toMatchObject({ status: "sold", duplicate: true });
    expect((await call("DELETE", `/v1/reservations/${reservationId}`)).statusCode).toBe(409);
    await call("POST", "/v1/inventory/tix/reservations", { user: "bob", qty: 3 }, "us");
    await service.tick(); // regions publish their reserved counts when they renew
    const before = (await call("GET", "/v1/inventory/tix")).json();
    const soldOut = await call("POST", "/v1/inventory/tix/reservations", { user: "carol", qty: 1 }, "ap");
    expect(soldOut.statusCode).toBe(409);
    expect(soldOut.json().error).toBe("sold out");
    const bad = await call("POST", "/v1/inventory/tix/reservations", { user: "carol", qty: 0 }, "ap");
    expect(bad.statusCode).toBe(400);
    inv = (await call("GET", "/v1/inventory/tix")).json();
    const counts = (v: Record<string, unknown>) => ({ total: v["total"], sold: v["sold"], reserved: v["reserved"], available: v["available"], pool: v["pool"] });
    expect(counts(inv)).toEqual(counts(before));
    expect(inv.sold + inv.reserved + inv.available).toBe(5);
  });

  it("cancels and expires reservations back into stock", async () => {
    const { call, clock, service } = setup();
    await call("POST", "/v1/inventory/tix", { total: 3 });
    const a = (await call("POST", "/v1/inventory/tix/reservations", { user: "a", qty: 1 })).json().reservationId as string;
    const b = (await call("POST", "/v1/inventory/tix/reservations", { user: "b", qty: 1 })).json().reservationId as string;
    expect((await call("DELETE", `/v1/reservations/${a}`)).statusCode).toBe(204);
    expect((await call("DELETE", `/v1/reservations/${a}`)).statusCode).toBe(404);
    clock.advance(60_001);
    expect((await call("POST", `/v1/reservations/${b}/commit`)).statusCode).toBe(410);
    await service.tick();
    expect((await call("GET", "/v1/inventory/tix")).json()).toMatchObject({ sold: 0, reserved: 0, available: 3 });
    expect((await call("POST", "/v1/reservations/garbage/commit")).statusCode).toBe(404);
  });

  it("429 with Retry-After when the per-user limiter says no; 403 past the per-user cap", async () => {
    const { call } = setup({ perUserLimit: 2 }, ["spammer"]);
    await call("POST", "/v1/inventory/tix", { total: 100 });
    const r = await call("POST", "/v1/inventory/tix/reservations", { user: "spammer", qty: 1 });
    expect(r.statusCode).toBe(429);
    expect(r.headers["retry-after"]).toBe("2");
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "dan", qty: 3 })).statusCode).toBe(403);
    const id = (await call("POST", "/v1/inventory/tix/reservations", { user: "dan", qty: 2 })).json().reservationId as string;
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "dan", qty: 1 })).statusCode).toBe(429);
    await call("POST", `/v1/reservations/${id}/commit`);
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "dan", qty: 1 })).statusCode).toBe(403);
  });

  it("full checkouts send buyers to the waiting room; progressive admission lets them in by batch", async () => {
    const { call, service } = setup({ maxConcurrentCheckouts: 2, batchSize: 1 });
    await call("POST", "/v1/inventory/tix", { total: 100 });
    await call("POST", "/v1/inventory/tix/reservations", { user: "u1", qty: 1 });
    const first = (await call("POST", "/v1/inventory/tix/reservations", { user: "u2", qty: 1 })).json().reservationId as string;
    const q3 = await call("POST", "/v1/inventory/tix/reservations", { user: "u3", qty: 1 });
    expect(q3.statusCode).toBe(429);
    expect(q3.json().queuePosition).toBe(1);
    expect(Number(q3.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "u4", qty: 1 })).json().queuePosition).toBe(2);
    await call("POST", `/v1/reservations/${first}/commit`);
    // u4 cannot jump the queue when a slot opens; the batch admits u3 first.
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "u4", qty: 1 })).statusCode).toBe(429);
    await service.tick();
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "u4", qty: 1 })).statusCode).toBe(429);
    expect((await call("POST", "/v1/inventory/tix/reservations", { user: "u3", qty: 1 })).statusCode).toBe(201);
  });

  it("reconciliation reports a balanced ledger", async () => {
    const { call, service } = setup();
    await call("POST", "/v1/inventory/tix", { total: 7 });
    await call("POST", "/v1/inventory/tix/reservations", { user: "a", qty: 1 });
    expect((await call("GET", "/v1/inventory/tix/reconciliation")).statusCode).toBe(404);
    await service.tick();
    const rep = (await call("GET", "/v1/inventory/tix/reconciliation")).json();
    expect(rep).toMatchObject({ total: 7, conservationDrift: 0, ok: true });
  });
});
