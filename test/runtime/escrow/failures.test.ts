// The store goes away mid-sale: requests get 503 with Retry-After, the circuit opens, nothing is lost or
// half-written, and a commit retried after recovery sells exactly once.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { buildEscrowApp } from "./app.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import type { EscrowStore } from "../../../runtime/escrow/store/port.js";
import { as, testConfig } from "./fixture.js";

function flakyStore(inner: EscrowStore): { store: EscrowStore; down: { value: boolean } } {
  const down = { value: false };
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => (down.value && key !== "close" ? Promise.reject(new Error("connection refused")) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { store, down };
}

describe("escrow under store failure", () => {
  it("503 + Retry-After, circuit opens, no unit lost; commits retried after recovery sell once", async () => {
    const inner = new MemoryEscrowStore();
    const { store, down } = flakyStore(inner);
    const clock = new ManualClock(1_000_000);
    // Reorder point 0 and a batch of 1: no refill ahead, so only the requests below touch the store.
    const config = await testConfig(["eu"], {
      skus: [{ sku: "tix", total: 4, globalReserve: 2, allocation: { eu: 2 }, refill: { batchSize: 1, reorderPoints: { eu: 0 } } }],
    });
    const service = new EscrowService({ config, store, limiter: { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) }, clock });
    Object.assign(service.admission, { breakerThreshold: 2, breakerCooldownMs: 5_000 });
    const app = buildEscrowApp(service, clock);
    const call = async (method: "GET" | "POST", url: string, body?: object, user = "ops") =>
      app.inject({ method, url, payload: body, headers: await as(user, "eu", { admin: true, nowMs: 1_000_000 }) });
    await service.createConfigured(); // eu starts with 2, the pool keeps 2
    const a = (await call("POST", "/v1/inventory/tix/reservations", { qty: 1 }, "a")).json().reservationId as string;
    const b = (await call("POST", "/v1/inventory/tix/reservations", { qty: 1 }, "b")).json().reservationId as string;

    down.value = true;
    // The fast path needs no store: with units in hand nothing fails. Out of units, the slow path does.
    const r1 = await call("POST", "/v1/inventory/tix/reservations", { qty: 1 }, "c");
    expect(r1.statusCode).toBe(503);
    expect(r1.headers["retry-after"]).toBe("5");
    expect((await call("POST", "/v1/inventory/tix/reservations", { qty: 1 }, "d")).statusCode).toBe(503);
    expect(service["started"][0]!.breaker.state).toBe("open");
    // Commits fail cleanly: 503, and the reservation stands.
    const c1 = await call("POST", `/v1/reservations/${a}/commit`, undefined, "a");
    expect(c1.statusCode).toBe(503);
    expect(Number(c1.headers["retry-after"])).toBeGreaterThanOrEqual(1);

    // Anything else that needs the store answers 503 + Retry-After, not 500.
    const inv503 = await call("GET", "/v1/inventory/tix");
    expect(inv503.statusCode).toBe(503);
    expect(inv503.headers["retry-after"]).toBe("1");
    expect((await call("POST", "/v1/inventory/other", { total: 3 })).statusCode).toBe(503);

    down.value = false;
    clock.advance(5_000);
    const c2 = await call("POST", `/v1/reservations/${a}/commit`, undefined, "a");
    expect(c2.statusCode).toBe(200);
    expect((await call("POST", `/v1/reservations/${a}/commit`, undefined, "a")).json()).toMatchObject({ duplicate: true });
    expect((await call("POST", `/v1/reservations/${b}/commit`, undefined, "b")).statusCode).toBe(200);
    const inv = (await call("GET", "/v1/inventory/tix")).json();
    expect(inv).toMatchObject({ total: 4, sold: 2, reserved: 0, available: 2 });
    const audit = (await inner.audit("tix", clock.now()))!;
    expect(audit.sold).toBe(2);
    expect(audit.pool + Object.values(audit.leases).reduce((s, l) => s + l.held, 0) + audit.sold).toBe(4);
  });
});
