import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { dominantResourceFairness } from "../../../runtime/quota/drf.js";
import { Lottery } from "../../../runtime/quota/lottery.js";
import { seededUniform as seededRandom } from "../../../model/random.js";
import { maxMinFair } from "../../../runtime/quota/max-min.js";
import { AgeingPriorityQueue } from "../../../runtime/quota/priority.js";
import { WeightedFairQueue } from "../../../runtime/quota/wfq.js";

describe("max-min fairness", () => {
  it("is Doorman's fair share and honours weights", () => {
    expect(maxMinFair(120, [1000, 50, 10])).toEqual([60, 50, 10]);
    expect(maxMinFair(10, [10, 10], [3, 1])).toEqual([7.5, 2.5]);
    expect(() => maxMinFair(1, [-1])).toThrow(/wants\[0\] is -1/);
  });

  it("never exceeds capacity or wants, and no allocation can grow without shrinking a smaller one (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 8 }), (cap, wants) => {
        const a = maxMinFair(cap, wants);
        const sum = a.reduce((s, x) => s + x, 0);
        expect(sum).toBeLessThanOrEqual(cap + 1e-6);
        a.forEach((x, i) => expect(x).toBeLessThanOrEqual(wants[i]! + 1e-9));
        const unsatisfied = a.map((x, i) => i).filter((i) => a[i]! < wants[i]! - 1e-6);
        if (unsatisfied.length) {
          // Bottlenecked: the capacity is used up and every unsatisfied client holds the maximum allocation.
          expect(sum).toBeCloseTo(cap, 6);
          const top = Math.max(...a);
          for (const i of unsatisfied) expect(a[i]).toBeCloseTo(top, 6);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("dominant resource fairness", () => {
  it("reproduces the DRF paper's example", () => {
    const [a, b] = dominantResourceFairness({ cpu: 9, mem: 18 }, [
      { id: "A", demand: { cpu: 1, mem: 4 } },
      { id: "B", demand: { cpu: 3, mem: 1 } },
    ]);
    expect(a).toMatchObject({ tasks: 3, allocated: { cpu: 3, mem: 12 }, dominantResource: "mem" });
    expect(b).toMatchObject({ tasks: 2, allocated: { cpu: 6, mem: 2 }, dominantResource: "cpu" });
    expect(a!.dominantShare).toBeCloseTo(2 / 3, 9);
    expect(b!.dominantShare).toBeCloseTo(2 / 3, 9);
  });

  it("never over-allocates and leaves no task that would fit (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ cpu: fc.integer({ min: 0, max: 5 }), mem: fc.integer({ min: 0, max: 8 }), net: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 5 }), (demands) => {
        const cap = { cpu: 20, mem: 40, net: 10 };
        const out = dominantResourceFairness(
          cap,
          demands.map((d, i) => ({ id: `u${i}`, demand: d })),
        );
        const used = { cpu: 0, mem: 0, net: 0 };
        for (const o of out) for (const r of ["cpu", "mem", "net"] as const) used[r] += o.allocated[r]!;
        for (const r of ["cpu", "mem", "net"] as const) expect(used[r]).toBeLessThanOrEqual(cap[r]);
        for (const d of demands) if (d.cpu + d.mem + d.net > 0) expect(d.cpu + used.cpu > cap.cpu || d.mem + used.mem > cap.mem || d.net + used.net > cap.net).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("names an unknown resource", () => {
    expect(() => dominantResourceFairness({ cpu: 1 }, [{ id: "x", demand: { gpu: 1 } }])).toThrow(/user x demands "gpu", which the capacity does not have \(cpu\)/);
  });
});

describe("weighted fair queuing", () => {
  it("serves backlogged flows in proportion to their weights, by virtual finish time", () => {
    const q = new WeightedFairQueue<number>();
    q.setWeight("gold", 3);
    q.setWeight("bronze", 1);
    for (let i = 0; i < 300; i++) {
      q.enqueue("gold", 100, i);
      q.enqueue("bronze", 100, i);
    }
    const served = { gold: 0, bronze: 0 };
    for (let i = 0; i < 200; i++) served[q.dequeue()!.flow as "gold" | "bronze"]++;
    expect(served).toEqual({ gold: 150, bronze: 50 });
  });

  it("gives an idle flow no credit for its idle time", () => {
    const q = new WeightedFairQueue<string>();
    for (let i = 0; i < 100; i++) q.enqueue("busy", 10, "b");
    for (let i = 0; i < 50; i++) q.dequeue();
    q.enqueue("late", 10, "l1");
    q.enqueue("late", 10, "l2");
    q.enqueue("late", 10, "l3");
    // From here the two flows alternate; "late" does not get 50 items in a row.
    const next = Array.from({ length: 6 }, () => q.dequeue()!.flow);
    expect(next.filter((f) => f === "late")).toHaveLength(3);
    expect(next.slice(0, 2).sort()).toEqual(["busy", "late"]);
  });
});

describe("lottery scheduling", () => {
  it("wins in proportion to tickets and compensates short quanta", () => {
    const l = new Lottery(seededRandom(42));
    l.setTickets("a", 75);
    l.setTickets("b", 25);
    const wins = { a: 0, b: 0 };
    for (let i = 0; i < 20_000; i++) wins[l.draw() as "a" | "b"]++;
    // Binomial(20000, 0.75): σ ≈ 61; 5σ keeps this deterministic test meaningful.
    expect(Math.abs(wins.a - 15_000)).toBeLessThan(310);
    l.setTickets("a", 50);
    l.setTickets("b", 50);
    l.usedFraction("b", 0.2);
    // b now holds 50/0.2 = 250 tickets until it wins: it wins 250/300 of the first draws.
    let bFirst = 0;
    for (let i = 0; i < 3000; i++) {
      const l2 = new Lottery(seededRandom(i));
      l2.setTickets("a", 50);
      l2.setTickets("b", 50);
      l2.usedFraction("b", 0.2);
      if (l2.draw() === "b") bFirst++;
    }
    expect(Math.abs(bFirst / 3000 - 250 / 300)).toBeLessThan(0.04);
    expect(new Lottery(Math.random).draw()).toBeUndefined();
  });
});

describe("priority tiers with ageing", () => {
  it("serves higher tiers first but never starves a low tier (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 5 }), (tier, ageTicks, ahead) => {
        const clock = new ManualClock(0);
        const q = new AgeingPriorityQueue<string>(clock, 4, ageTicks * 10);
        for (let i = 0; i < ahead; i++) q.enqueue(0, "early");
        q.enqueue(tier, "low");
        // A tier-0 item arrives every 10 ms and one item is served every 10 ms: an endless higher-tier stream.
        for (let t = 1; t < 1000; t++) {
          clock.advance(10);
          q.enqueue(0, "stream");
          const got = q.dequeue()!;
          if (got.value === "low") {
            expect(got.waitedMs).toBeLessThanOrEqual(tier * ageTicks * 10 + (ahead + 1) * 10);
            return;
          }
        }
        throw new Error("the low-tier item starved");
      }),
      { numRuns: 100 },
    );
  });

  it("orders by tier, then arrival", () => {
    const q = new AgeingPriorityQueue<string>(new ManualClock(0), 3, 1000);
    q.enqueue(2, "c");
    q.enqueue(0, "a1");
    q.enqueue(1, "b");
    q.enqueue(0, "a2");
    expect([q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue()].map((x) => x!.value)).toEqual(["a1", "a2", "b", "c"]);
    expect(() => q.enqueue(3, "x")).toThrow(/tier is 3; expected an integer 0–2/);
  });
});
