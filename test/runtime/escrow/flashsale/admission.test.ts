import { describe, expect, it } from "vitest";
import { WaitingRoom } from "../../../../runtime/escrow/flashsale/waiting-room.js";
import { CircuitBreaker } from "../../../../runtime/escrow/flashsale/breaker.js";
import { AdaptiveLimit } from "../../../../runtime/escrow/flashsale/adaptive.js";

/** A seeded generator (mulberry32) so fairness statistics are reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("waiting room fairness", () => {
  it("fifo admits by arrival; same-millisecond ties are broken at random, not by name", () => {
    const firsts = new Map<string, number>();
    for (let seed = 1; seed <= 400; seed++) {
      const room = new WaitingRoom("fifo", rng(seed));
      room.join("early", 1);
      for (const u of ["a", "b", "c", "d"]) room.join(u, 5);
      room.join("late", 9);
      const order = room.admit(6, 10);
      expect(order[0]).toBe("early");
      expect(order[5]).toBe("late");
      firsts.set(order[1]!, (firsts.get(order[1]!) ?? 0) + 1);
    }
    for (const u of ["a", "b", "c", "d"]) expect(firsts.get(u)).toBeGreaterThan(60); // ≈100 each
  });

  it("joining again keeps your place; admitted buyers hold a pass until it expires", () => {
    const room = new WaitingRoom("fifo", rng(7), 1000);
    expect(room.join("a", 0)).toBe(1);
    expect(room.join("b", 1)).toBe(2);
    expect(room.join("a", 5)).toBe(1);
    expect(room.admit(1, 10)).toEqual(["a"]);
    expect(room.hasPass("a", 500)).toBe(true);
    expect(room.hasPass("a", 1010)).toBe(false);
    expect(room.size).toBe(1);
  });

  it("lottery ignores arrival time", () => {
    let firstWins = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const room = new WaitingRoom("lottery", rng(seed));
      for (let i = 0; i < 4; i++) room.join(`u${i}`, i);
      if (room.admit(1, 10)[0] === "u0") firstWins++;
    }
    expect(firstWins).toBeGreaterThan(60);
    expect(firstWins).toBeLessThan(140);
  });

  it("weighted queues draw a weight-3 buyer about three times as often as a weight-1 buyer", () => {
    let premium = 0;
    const runs = 2000;
    for (let seed = 1; seed <= runs; seed++) {
      const room = new WaitingRoom("weighted", rng(seed));
      room.join("std", 0, 1);
      room.join("vip", 0, 3);
      if (room.admit(1, 1)[0] === "vip") premium++;
    }
    expect(premium / runs).toBeGreaterThan(0.7); // exact: 3/4
    expect(premium / runs).toBeLessThan(0.8);
  });
});

describe("circuit breaker", () => {
  it("opens after the threshold, lets one trial through after the cooldown, closes on success", () => {
    const b = new CircuitBreaker(2, 1000);
    b.failure(0);
    expect(b.allow(1)).toBe(true);
    b.failure(1);
    expect(b.state).toBe("open");
    expect(b.allow(500)).toBe(false);
    expect(b.retryAfterMs(500)).toBe(501);
    expect(b.allow(1001)).toBe(true);
    expect(b.allow(1002)).toBe(false); // one trial at a time
    b.failure(1003);
    expect(b.state).toBe("open");
    expect(b.allow(2004)).toBe(true);
    b.success();
    expect(b.state).toBe("closed");
  });
});

describe("adaptive admission limit", () => {
  it("backs off multiplicatively on slow or failed writes and creeps back additively", () => {
    const a = new AdaptiveLimit(10, 100, 200, 0.5);
    expect(a.limit).toBe(100);
    a.observe(500, true);
    expect(a.limit).toBe(50);
    a.observe(10, false);
    expect(a.limit).toBe(25);
    for (let i = 0; i < 10; i++) a.observe(10, false);
    expect(a.limit).toBe(10);
    for (let i = 0; i < 200; i++) a.observe(10, true);
    expect(a.limit).toBeGreaterThan(20);
    expect(() => new AdaptiveLimit(0, 5)).toThrow(/min/);
  });
});
