// HLC: CockroachDB's published pkg/util/hlc cases (their nanoseconds read as our microseconds) and
// Kulkarni et al.'s invariants as fast-check properties.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ForwardClockJumpError, HybridClock, UntrustworthyRemoteWallTimeError } from "../../../runtime/clock/hlc.js";
import { MAX_LOGICAL, compare, less, parse, type Timestamp } from "../../../runtime/clock/timestamp.js";

/** A ManualClock set in microseconds (CockroachDB's tests count in nanoseconds; the relations are unit-free). */
const atMicros = (us: number) => new ManualClock(us / 1000);
const setMicros = (c: ManualClock, us: number) => c.set(us / 1000);
const ts = (wall: number, logical: number): Timestamp => ({ wall, logical });

describe("HybridClock — CockroachDB TestHLCClock", () => {
  it("reproduces the published event history (backward physical jump, equal walls, remote logical wins)", () => {
    const m = atMicros(1);
    const c = new HybridClock({ clock: m, maxOffsetMs: 1000 / 1000 });
    const history: [number, "send" | "recv", Timestamp | null, Timestamp][] = [
      [5, "send", null, ts(5, 0)],
      [6, "send", null, ts(6, 0)],
      [10, "recv", ts(10, 5), ts(10, 6)],
      [7, "send", null, ts(10, 7)], // our clock mysteriously jumps back
      [8, "recv", ts(10, 4), ts(10, 9)], // wall clocks coincide, local logical wins
      [10, "recv", ts(10, 99), ts(10, 100)], // remote logical wins
      [11, "recv", ts(10, 31), ts(11, 1)], // physical clock caught up and takes over
      [11, "send", null, ts(11, 2)],
    ];
    for (const [wall, event, input, expected] of history) {
      setMicros(m, wall);
      let current: Timestamp;
      if (event === "send") current = c.now();
      else {
        const previous = c.now();
        c.update(input!);
        current = c.now();
        expect(current).not.toEqual(previous);
      }
      expect(current).toEqual(expected);
    }
  });

  it("TestHLCLess/LessEq: ticks order timestamps at one wall time and across walls", () => {
    const m = atMicros(1);
    const c = new HybridClock({ clock: m, maxOffsetMs: 0.001 });
    let a = c.now();
    m.advance(0.001);
    const b = c.now();
    expect(less(a, b)).toBe(true);
    a = c.now();
    expect(less(b, a)).toBe(true);
    expect(a.wall).toBe(b.wall);
  });

  it("TestExampleManualClock: the wall time follows the manual clock", () => {
    const m = atMicros(10);
    const c = new HybridClock({ clock: m, maxOffsetMs: 0.001 });
    expect(c.now().wall).toBe(10);
    m.advance(0.01);
    expect(c.now().wall).toBe(20);
  });

  it("TestHLCMonotonicityCheck: a backward jump beyond maxOffset/10 counts once; a smaller one does not", () => {
    const m = atMicros(100_000);
    const c = new HybridClock({ clock: m, maxOffsetMs: 0.1 });
    const first = c.now();
    m.advance(-0.11);
    const second = c.now();
    expect(c.monotonicityErrorCount).toBe(1);
    expect(less(first, second)).toBe(true);
    m.advance(-0.01);
    c.now();
    expect(c.monotonicityErrorCount).toBe(1);
  });

  it("TestClock_UpdateAndCheckMaxOffset_UntrustworthyValue: +499ms accepted, +1s rejected and not applied", () => {
    const t0 = Date.UTC(2000, 0, 1);
    const m = new ManualClock(t0);
    const c = new HybridClock({ clock: m, maxOffsetMs: 500 });
    c.updateAndCheckMaxOffset(ts((t0 + 499) * 1000, 0));
    expect(c.peek().wall).toBe((t0 + 499) * 1000);
    const before = c.peek();
    expect(() => c.updateAndCheckMaxOffset(ts((t0 + 1000) * 1000, 0))).toThrow(UntrustworthyRemoteWallTimeError);
    expect(c.peek()).toEqual(before);
  });

  describe("TestHLCPhysicalClockJump", () => {
    const cases = [
      { name: "small forward jump", jump: 50, maxOffset: 500, fatal: false },
      { name: "half max offset jump", jump: 250, maxOffset: 500, fatal: true },
      { name: "large forward jump", jump: 400, maxOffset: 500, fatal: true },
      { name: "large forward jump large thresh", jump: 400, maxOffset: 900, fatal: false },
      { name: "small backward jump", jump: -40, maxOffset: 500, fatal: false },
      { name: "large backward jump", jump: -700, maxOffset: 500, fatal: false },
      { name: "large backward jump large thresh", jump: -700, maxOffset: 900, fatal: false },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const m = new ManualClock(1e-6);
        const fatal: ForwardClockJumpError[] = [];
        const c = new HybridClock({ clock: m, maxOffsetMs: tc.maxOffset, onFatal: (e) => fatal.push(e) });
        const t0 = c.now();
        m.advance(tc.maxOffset); // checking is off: even a max-offset jump is not fatal
        const t1 = c.now();
        expect(less(t0, t1)).toBe(true);
        expect(fatal).toHaveLength(0);
        c.setForwardJumpCheck(true);
        m.advance(tc.jump);
        c.tick(); // the ticker reads this jump first: it is reported all the same
        expect(fatal.length > 0).toBe(tc.fatal);
        fatal.length = 0;
        const t2 = c.now();
        expect(less(t1, t2)).toBe(true);
        expect(fatal).toHaveLength(0);
        m.advance(tc.jump);
        const t3 = c.now();
        expect(less(t2, t3)).toBe(true);
        expect(fatal.length > 0).toBe(tc.fatal);
        fatal.length = 0;
        m.advance(tc.maxOffset); // a jump by max offset is surely fatal
        expect(less(t3, c.now())).toBe(true);
        expect(fatal.length).toBe(1);
        fatal.length = 0;
        c.setForwardJumpCheck(false);
        m.advance(tc.jump);
        c.now();
        expect(fatal).toHaveLength(0);
      });
    }
  });

  it("the ticker keeps idle time from looking like a jump, and reports a jump it reads first (the #16 600 ms case)", () => {
    const m = new ManualClock(1_000);
    const jumps: number[] = [];
    const fatal: ForwardClockJumpError[] = [];
    const c = new HybridClock({ clock: m, maxOffsetMs: 1000, forwardJumpCheck: true, onForwardJump: (us) => jumps.push(us), onFatal: (e) => fatal.push(e) });
    c.now();
    for (let i = 0; i < 20; i++) {
      m.advance(100); // idle, ticked every 100 ms: 2 s pass without a request
      c.tick();
    }
    expect(c.now().wall).toBe(3_000_000);
    expect(fatal).toHaveLength(0);
    m.advance(600);
    c.tick();
    expect(jumps).toEqual([600_000]);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ jumpMicros: 600_000, toleratedMicros: 500_000 });
    c.now(); // the request after the ticker does not report it twice
    expect(fatal).toHaveLength(1);
  });

  it("throws a fatal forward jump out of now() by default", () => {
    const m = new ManualClock(1000);
    const c = new HybridClock({ clock: m, maxOffsetMs: 500, forwardJumpCheck: true });
    c.now();
    m.advance(300);
    expect(() => c.now()).toThrow(ForwardClockJumpError);
  });
});

describe("HybridClock — properties", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: -50, max: 50 }).map((x) => x / 10) }),
    fc.record({ kind: fc.constant("now" as const) }),
    fc.record({ kind: fc.constant("recv" as const), aheadMs: fc.integer({ min: -100, max: 100 }).map((x) => x / 10), logical: fc.nat(20) }),
  );

  it("now() is strictly monotonic, l ≥ pt, and l − pt ≤ max offset", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const m = new ManualClock(1_700_000_000_000);
        const maxOffsetMs = 5;
        const c = new HybridClock({ clock: m, maxOffsetMs });
        let last: Timestamp | null = null;
        let highestPt = Math.round(m.now() * 1000);
        for (const o of ops) {
          if (o.kind === "advance") m.advance(o.ms);
          else if (o.kind === "recv") {
            const remote = ts(Math.round((m.now() + o.aheadMs) * 1000), o.logical);
            try {
              c.updateAndCheckMaxOffset(remote);
            } catch (e) {
              expect(e).toBeInstanceOf(UntrustworthyRemoteWallTimeError);
              expect(o.aheadMs).toBeGreaterThan(maxOffsetMs);
            }
          } else {
            const t = c.now();
            const pt = Math.round(m.now() * 1000);
            if (last) expect(compare(last, t)).toBeLessThan(0);
            expect(t.wall).toBeGreaterThanOrEqual(pt);
            last = t;
          }
          highestPt = Math.max(highestPt, Math.round(m.now() * 1000));
          // No peer drags the wall time more than max offset past the highest physical reading.
          expect(c.peek().wall - highestPt).toBeLessThanOrEqual(maxOffsetMs * 1000);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("with forward-moving physical clocks within ε of true time, the logical counter stays ≤ N·(ε+1) (Kulkarni Thm 2)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ node: fc.nat(3), to: fc.nat(3), step: fc.integer({ min: 1, max: 3 }), send: fc.boolean() }), { maxLength: 150 }),
        (n, eps, events) => {
          let trueMicros = 1_000_000;
          const skews = Array.from({ length: n }, (_, i) => (i * eps) % (eps + 1)); // 0 ≤ skew ≤ ε
          const clocks = skews.map((s) => ({ now: () => (trueMicros + s) / 1000 }));
          const nodes = clocks.map((clock) => new HybridClock({ clock, maxOffsetMs: (eps + 1) / 1000 }));
          for (const e of events) {
            trueMicros += e.step; // every event takes at least one tick of true time
            const from = nodes[e.node % n]!;
            const t = from.now();
            if (e.send) {
              const to = nodes[e.to % n]!;
              to.updateAndCheckMaxOffset(t);
              to.now();
            }
            for (const node of nodes) expect(node.peek().logical).toBeLessThanOrEqual(n * (eps + 1));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("HybridClock — logical overflow", () => {
  it("advances the wall time by 1 µs instead of passing the int32 logical maximum", () => {
    const m = new ManualClock(1_000);
    const c = new HybridClock({ clock: m, maxOffsetMs: 500 });
    c.update(ts(1_000_000, MAX_LOGICAL - 1));
    expect(c.now()).toEqual(ts(1_000_000, MAX_LOGICAL));
    expect(c.now()).toEqual(ts(1_000_001, 0));
    expect(c.now()).toEqual(ts(1_000_001, 1));
  });

  it("refuses a remote timestamp whose logical is past the maximum", () => {
    expect(() => parse(`1000000.${MAX_LOGICAL + 1}`)).toThrow(/above the int32 maximum/);
    expect(parse(`1000000.${MAX_LOGICAL}`)).toEqual(ts(1_000_000, MAX_LOGICAL));
  });
});

describe("HybridClock — persisted upper bound (write-ahead)", () => {
  const setup = (failing = false) => {
    const m = new ManualClock(1_000);
    const persisted: number[] = [];
    const store = {
      persist: (b: number) =>
        failing
          ? (() => {
              throw new Error("disk full");
            })()
          : persisted.push(b),
    };
    const c = new HybridClock({ clock: m, maxOffsetMs: 500, upperBound: { store, leadMs: 100 } });
    return { m, c, persisted };
  };

  it("persists wall + lead before the first timestamp and before any beyond the bound", () => {
    const { m, c, persisted } = setup();
    expect(c.now().wall).toBe(1_000_000);
    expect(persisted).toEqual([1_100_000]);
    m.advance(50);
    c.now();
    expect(persisted).toHaveLength(1); // within the bound: no write
    c.update(ts(1_400_000, 3)); // forwarded by a peer beyond the bound
    const t = c.now();
    expect(t).toEqual(ts(1_400_000, 4));
    expect(persisted).toEqual([1_100_000, 1_500_000]);
    expect(c.upperBoundMicros).toBeGreaterThanOrEqual(t.wall);
  });

  it("refreshUpperBound keeps the bound ahead of the clock so requests seldom write", () => {
    const { m, c, persisted } = setup();
    c.refreshUpperBound();
    m.advance(60);
    c.refreshUpperBound();
    expect(persisted).toEqual([1_100_000, 1_160_000]);
    m.advance(50);
    expect(c.now().wall).toBe(1_110_000);
    expect(persisted).toHaveLength(2);
  });

  it("issues nothing when the bound cannot be persisted", () => {
    const { c } = setup(true);
    expect(() => c.now()).toThrow(/disk full/);
    expect(c.peek()).toEqual(ts(0, 0));
  });

  it("every issued timestamp is at or below the bound persisted before it", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(-1)), { maxLength: 60 }), (ops) => {
        const { m, c, persisted } = setup();
        for (const op of ops) {
          if (op === -1) c.update({ wall: microsFromMsTest(m.now() + 400), logical: 0 });
          else m.advance(op / 10);
          const t = c.now();
          expect(t.wall).toBeLessThanOrEqual(persisted.at(-1)!);
        }
      }),
    );
  });
});

const microsFromMsTest = (ms: number) => Math.round(ms * 1000);

describe("HybridClock — jumps against a monotonic clock", () => {
  it("a stall (wall and monotonic advance together) is no jump; a wall step beyond elapsed time is, either way", () => {
    const wall = new ManualClock(1_000);
    let mono = 0;
    const forward: number[] = [];
    const c = new HybridClock({ clock: wall, monotonic: () => mono, maxOffsetMs: 500, forwardJumpCheck: true, onForwardJump: (us) => forward.push(us), onFatal: () => undefined });
    c.now();
    wall.advance(2_000); // the process stalled for 2 s
    mono += 2_000;
    c.tick();
    expect(forward).toEqual([]);
    wall.advance(700); // the wall clock stepped 700 ms while 100 ms passed
    mono += 100;
    c.tick();
    expect(forward).toEqual([600_000]);
    wall.advance(-300); // stepped back 300 ms while 50 ms passed
    mono += 50;
    c.now();
    expect(c.monotonicityErrorCount).toBe(1);
  });
});
