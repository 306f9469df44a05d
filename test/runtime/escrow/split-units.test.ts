/**
 * The last units split between regions whose buyers each want more than their region holds. Two region
 * services over one memory store, a manual clock, maintenance every 333 ms: 3 units left, none in the pool,
 * 2 in us, 1 in eu; a us buyer asks for 3, an eu buyer for 2 (both satisfiable: 3 remain, so 429, not 409).
 * (Before: both regions borrowed, so neither lent — core/rebalance.ts served a borrower only from regions not
 * borrowing themselves — and both buyers got 429 for as long as the test looked, 20 rounds, while the 3 units
 * that would serve the us buyer sat split.)
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { conservationDrift } from "../../../runtime/escrow/store/port.js";
import { testConfig } from "./fixture.js";

const REGIONS = ["eu", "us"];
const TICK_MS = 333;
const buyer = (user: string) => ({ user, tier: "standard", weight: 1, admin: false });
const allow = { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) };

describe("escrow: the last units split between borrowing regions", () => {
  it("are pooled in one of them: its buyer is served within a few rounds, the other then told sold out", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = new MemoryEscrowStore();
    const [eu, us] = (await Promise.all(
      REGIONS.map(async (region) => {
        const peers = Object.fromEntries(REGIONS.filter((r) => r !== region).map((r) => [r, `http://${r}.invalid`]));
        const config = await testConfig([region], {
          rebalanceIntervalSeconds: TICK_MS / 1000,
          peers,
          admission: { perUserLimit: 10, userRatePerSecond: 1e6, userBurst: 1e6 },
          skus: [{ sku: "tix", total: 3, globalReserve: 0, allocation: { us: 2, eu: 1 }, refill: { batchSize: 50, reorderPoints: { eu: 0, us: 0 } } }],
        });
        return new EscrowService({ config, store, limiter: allow, clock, rng: () => 0.5 });
      }),
    )) as [EscrowService, EscrowService];
    await eu.createConfigured();
    // Start both regions' sales (each takes its allocation) with a request for more than remains anywhere:
    // that is final (409) and no borrow request.
    for (const [s, region] of [
      [eu, "eu"],
      [us, "us"],
    ] as const)
      expect((await s.reserve(region, "tix", buyer(`big-${region}`), 4))!.status).toBe("sold-out");
    clock.advance(TICK_MS);
    await eu.tick();
    await us.tick();
    const start = (await store.audit("tix", clock.now()))!;
    expect(start.pool).toBe(0);
    expect(start.leases["us"]).toMatchObject({ held: 2, want: 0 });
    expect(start.leases["eu"]).toMatchObject({ held: 1, want: 0 });
    const answers: Record<string, string[]> = { us: [], eu: [] };
    const wants = [
      { s: us, region: "us", who: buyer("us-buyer"), qty: 3 },
      { s: eu, region: "eu", who: buyer("eu-buyer"), qty: 2 },
    ];
    let sold = "";
    for (let round = 0; round < 20 && !sold; round++) {
      for (const w of wants) {
        const r = (await w.s.reserve(w.region, "tix", w.who, w.qty))!;
        answers[w.region]!.push(r.status === "throttled" || r.status === "sold-out" ? `${r.status}: ${r.detail}` : r.status);
        if (r.status === "reserved") {
          expect((await w.s.commit(r.reservation.id, w.who)).status).toBe("sold");
          sold = w.region;
          break;
        }
      }
      clock.advance(TICK_MS);
      await eu.tick();
      await us.tick();
      const audit = (await store.audit("tix", clock.now()))!;
      expect(conservationDrift(audit)).toBe(0);
      if (round === 0) {
        // The state of the example: nothing in the pool, both buyers refused for now (429), not told sold out (409).
        expect(audit.pool).toBe(0);
        expect(answers["us"]![0]).toMatch(/^throttled: /);
        expect(answers["eu"]![0]).toMatch(/^throttled: /);
      }
    }
    // The units went to us (it held the most of them, and they meet its buyer's 3) within three rounds.
    expect(sold, `us: ${answers["us"]!.at(-1)}; eu: ${answers["eu"]!.at(-1)}`).toBe("us");
    expect(answers["us"]!.length).toBeLessThanOrEqual(3);
    expect(answers["us"]!.at(-1)).toBe("reserved");
    expect(answers["eu"]!.every((a) => a.startsWith("throttled: "))).toBe(true);
    const audit = (await store.audit("tix", clock.now()))!;
    expect(audit.sold).toBe(3);
    // Nothing is left for the eu buyer: a final answer now, not another 429.
    const last = (await eu.reserve("eu", "tix", buyer("eu-buyer"), 2))!;
    expect(last.status).toBe("sold-out");
  });
});
