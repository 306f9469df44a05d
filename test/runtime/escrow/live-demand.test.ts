import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { LiveDemand } from "../../../runtime/escrow/live-demand.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { testConfig } from "./fixture.js";

const OPEN = 1_700_000_000_000;

describe("live demand fed back into the rate a region plans with", () => {
  it("keeps the forecast until the open, then moves to what the region actually sells", () => {
    const quiet = new LiveDemand(10, 10, 30, OPEN);
    const busy = new LiveDemand(10, 10, 30, OPEN);
    for (let t = OPEN - 3_600_000; t < OPEN; t += 60_000) quiet.update(0, t); // an hour of nothing before the open
    expect(quiet.rate).toBe(10);
    let sold = 0;
    for (let s = 0; s <= 120; s++) {
      quiet.update(0, OPEN + s * 1000);
      busy.update((sold += 30), OPEN + s * 1000);
    }
    expect(quiet.rate).toBeLessThan(3); // forecast demand that never came: the region stops planning for it
    expect(busy.rate).toBeGreaterThan(25); // three times the forecast: the plan follows
    expect(busy.rate).toBeLessThanOrEqual(30);
  });

  it("the service's regions plan with it, and the inventory shows forecast vs expected", async () => {
    const clock = new ManualClock(OPEN);
    const config = await testConfig(["eu", "us"], {
      leaseTtlSeconds: 3600,
      reservationTtlSeconds: 3600,
      skus: [
        { sku: "tix", total: 100_000, globalReserve: 20_000, allocation: { eu: 40_000, us: 40_000 }, refill: { batchSize: 50, reorderPoints: { eu: 10, us: 10 } }, forecastRate: { eu: 40, us: 40 } },
      ],
      admission: { perUserLimit: 1000, userRatePerSecond: 1e6, userBurst: 1e6 },
    });
    const service = new EscrowService({ config, store: new MemoryEscrowStore(), limiter: { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) }, clock });
    await service.createConfigured();
    const eu = (await service.sale("tix", "eu"))!;
    const us = (await service.sale("tix", "us"))!;
    await service.tick();
    expect(eu.escrow.demand).toBe(40);
    for (let s = 0; s < 90; s++) {
      clock.advance(1000);
      for (let i = 0; i < 60 && (s & 1) === 0; i++) eu.escrow.tryReserve(`b${s}-${i}`, 1); // eu: ~30/s
      await service.tick();
    }
    const view = (await service.inventory("tix"))!;
    expect(view.regions["eu"]).toMatchObject({ forecast: 40 });
    expect(view.regions["us"]).toMatchObject({ forecast: 40 });
    expect(view.regions["us"]!.expected!).toBeLessThan(10); // nobody bought in us
    expect(view.regions["eu"]!.expected!).toBeGreaterThan(20); // eu sold ~30/s
    expect(us.escrow.demand).toBeLessThan(10);
    await service.close();
  });
});
