// Escrow's strong operations under a frozen clock: while the node's skew monitor has the strong path frozen,
// a commit answers `unavailable` (nothing sold) and the region's lease is not renewed; once the clock has been
// good for the hold-down, the same commit sells and the lease is renewed again.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ClockNode } from "../../../runtime/clock/index.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { testConfig } from "./fixture.js";

const T0 = 1_700_000_000_000;
const buyer = { user: "ann", tier: "standard", weight: 1, admin: false };

describe("escrow under a frozen clock", () => {
  it("refuses commits and lease renewals while the strong path is frozen, and resumes after recovery", async () => {
    const clock = new ManualClock(T0);
    const node = new ClockNode({ clock, maxOffsetMs: 250, skew: { recoveryHoldMs: 30_000 } });
    const config = await testConfig(["eu"], {
      leaseTtlSeconds: 3600,
      reservationTtlSeconds: 3600,
      skus: [{ sku: "tix", total: 100, globalReserve: 0, allocation: { eu: 100 }, refill: { batchSize: 10, reorderPoints: { eu: 5 } } }],
    });
    const store = new MemoryEscrowStore();
    const service = new EscrowService({ config, store, limiter: { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) }, clock, strongRefusal: () => node.strongRefusal() });
    await service.createConfigured();
    const eu = (await service.sale("tix", "eu"))!;
    const lease = async () => (await store.audit("tix", clock.now()))!.leases["eu"]!.expiresAtMs;
    const r = eu.escrow.tryReserve("ann", 2)!;

    node.measure(-220, 1); // our clock 220 ms off: beyond 80 % of the max offset
    expect(node.skew.state).toBe("frozen");
    const refused = await service.commit(r.id, buyer);
    expect(refused).toMatchObject({ status: "unavailable", detail: expect.stringMatching(/^commit refused: skew state frozen/) });
    expect((await store.audit("tix", clock.now()))!.sold).toBe(0);
    const before = await lease();
    clock.advance(10_000);
    await service.tick();
    expect(eu.escrow.renewalRefused).toMatch(/skew state frozen/);
    expect(await lease()).toBe(before);

    node.measure(0, 1); // good again: recovering, still refused for the hold-down
    clock.advance(15_000);
    expect((await service.commit(r.id, buyer)).status).toBe("unavailable");
    clock.advance(16_000);
    node.measure(0, 1);
    expect(node.skew.state).toBe("healthy");
    expect(await service.commit(r.id, buyer)).toMatchObject({ status: "sold", qty: 2 });
    await service.tick();
    expect(eu.escrow.renewalRefused).toBeNull();
    expect(await lease()).toBeGreaterThan(before);
    await service.close();
  });
});
