/**
 * The last units of an item created at run time reach the region whose buyers want them. Two region
 * services over one memory store, a manual clock, maintenance every 333 ms. Both regions sell; us outsells
 * its allocation, runs dry once and borrows from eu; near the end eu runs dry with the last 2 units in us,
 * whose buyers have stopped coming. (Before: us's borrow request, made once when it ran dry, stood until a
 * whole batch of 50 had arrived — never, with 2 units left — so both regions were borrowers, the plan had
 * no lender, and eu's buyers got 429 for as long as the test looked, 60 rounds.)
 */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { MemoryEscrowStore } from "../../../runtime/escrow/store/memory.js";
import { testConfig } from "./fixture.js";

const REGIONS = ["eu", "us"];
const TICK_MS = 333;
const buyer = (user: string) => ({ user, tier: "standard", weight: 1, admin: false });
const allow = { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) };

async function endOfSale() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryEscrowStore();
  const [eu, us] = (await Promise.all(
    REGIONS.map(async (region) => {
      const peers = Object.fromEntries(REGIONS.filter((r) => r !== region).map((r) => [r, `http://${r}.invalid`]));
      const config = await testConfig([region], { rebalanceIntervalSeconds: TICK_MS / 1000, peers, admission: { perUserLimit: 1000, userRatePerSecond: 1e6, userBurst: 1e6 } });
      return new EscrowService({ config, store, limiter: allow, clock, rng: () => 0.5 });
    }),
  )) as [EscrowService, EscrowService];
  expect((await eu.createItem("tix", 100)).outcome).toBe("created"); // at run time: no configured refill plan
  const tick = async () => {
    clock.advance(TICK_MS);
    await eu.tick();
    await us.tick();
  };
  let n = 0;
  const buy = async (s: EscrowService, region: string) => {
    const who = buyer(`b${n++}`);
    const r = await s.reserve(region, "tix", who, 1);
    if (r?.status === "reserved") expect((await s.commit(r.reservation.id, who)).status).toBe("sold");
  };
  // us sells one a round, eu one every other round, until 2 units are left.
  for (let round = 0; (await store.audit("tix", clock.now()))!.sold < 98; round++) {
    expect(round).toBeLessThan(400);
    await buy(us, "us");
    if (round % 2 === 0) await buy(eu, "eu");
    await tick();
  }
  const audit = (await store.audit("tix", clock.now()))!;
  expect(audit.pool).toBe(0);
  expect(audit.leases["us"]).toMatchObject({ held: 2, reserved: 0 });
  expect(audit.leases["eu"]).toMatchObject({ held: 0 });
  expect(audit.leases["us"]!.received).toBeGreaterThan(0); // us ran dry once and borrowed
  return { eu, tick };
}

describe("escrow: the last units move to the region that wants them", () => {
  for (const qty of [1, 2]) {
    it(`a buyer in a dry region gets the last units (qty ${qty}) within two maintenance rounds`, async () => {
      const { eu, tick } = await endOfSale();
      const answers: string[] = [];
      for (let round = 0; round < 30; round++) {
        const r = await eu.reserve("eu", "tix", buyer(`late-${round}`), qty);
        answers.push(r!.status === "throttled" ? `throttled: ${r!.detail}` : r!.status);
        if (r!.status === "reserved") break;
        await tick();
      }
      expect(answers[0]).toMatch(/^throttled: no units in eu or the global pool now; about 2 free in other regions/);
      expect(answers.at(-1)).toBe("reserved");
      expect(answers.length).toBeLessThanOrEqual(3);
    });
  }
});
