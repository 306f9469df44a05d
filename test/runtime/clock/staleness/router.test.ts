// Bounded staleness: follower reads never return data newer than the follower's closed timestamp nor
// older than the staleness bound allows, equal the leader's answer at the same timestamp, and fall
// back to the leader exactly when they must.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { HybridClock } from "../../../../runtime/clock/hlc.js";
import { SkewMonitor } from "../../../../runtime/clock/skew.js";
import { Follower, Leader, type ClosedTimestampUpdate } from "../../../../runtime/clock/staleness/replica.js";
import { FutureTimestampError, ReadRouter, StrongPathFrozenError } from "../../../../runtime/clock/staleness/router.js";
import { compare, lessEq, type Timestamp } from "../../../../runtime/clock/timestamp.js";

const T0 = 1_700_000_000_000;

function cluster(followerSkewMs = 0) {
  const clock = new ManualClock(T0);
  const leader = new Leader(new HybridClock({ clock, maxOffsetMs: 500 }), 1000);
  const follower = new Follower("eu");
  const local = { now: () => clock.now() + followerSkewMs };
  return { clock, leader, follower, router: new ReadRouter(leader, follower, local) };
}

describe("ReadRouter — properties", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("write" as const), key: fc.constantFrom("a", "b", "c"), value: fc.string({ maxLength: 3 }), session: fc.boolean() }),
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 1500 }) }),
    fc.record({ kind: fc.constant("close" as const) }),
    fc.record({ kind: fc.constant("deliver" as const) }),
    fc.record({ kind: fc.constant("catchUp" as const), limit: fc.integer({ min: 0, max: 3 }) }),
    // Healthy replication: close, replicate everything, deliver.
    fc.record({ kind: fc.constant("sync" as const) }),
    { arbitrary: fc.record({ kind: fc.constant("read" as const), key: fc.constantFrom("a", "b", "c"), maxStalenessMs: fc.constantFrom(500, 1500, 3000, 10_000), session: fc.boolean() }), weight: 3 },
  );

  it("follower reads stay within [now − bound, closed], match the leader, and honour the session floor", () => {
    let totalFollowerReads = 0;
    fc.assert(
      fc.property(fc.integer({ min: -40, max: 40 }), fc.array(op, { maxLength: 120 }), (skew, ops) => {
        const { clock, leader, follower, router } = cluster(skew);
        const inFlight: ClosedTimestampUpdate[] = [];
        let session: Timestamp | undefined;
        let followerReads = 0;
        for (const o of ops) {
          if (o.kind === "write") {
            const ts = leader.write(o.key, o.value);
            expect(compare(ts, leader.closedTimestamp)).toBeGreaterThan(0);
            if (o.session) session = ts;
          } else if (o.kind === "advance") clock.advance(o.ms);
          else if (o.kind === "close") inFlight.push(leader.closeTimestamp());
          else if (o.kind === "deliver") inFlight.splice(0).forEach((u) => follower.receiveClosed(u));
          else if (o.kind === "catchUp") follower.catchUp(leader, o.limit);
          else if (o.kind === "sync") {
            inFlight.push(leader.closeTimestamp());
            follower.catchUp(leader);
            inFlight.splice(0).forEach((u) => follower.receiveClosed(u));
          } else {
            const minTimestamp = o.session ? session : undefined;
            const r = router.read({ key: o.key, consistency: { consistency: "bounded-staleness", maxStalenessMs: o.maxStalenessMs }, minTimestamp });
            const readTs = r.readTs!;
            if (r.versionTs) expect(lessEq(r.versionTs, readTs)).toBe(true);
            if (minTimestamp) expect(lessEq(minTimestamp, readTs)).toBe(true);
            // Whoever served it, the answer is the leader's snapshot at readTs.
            expect(r.value).toBe(leader.store.get(o.key, readTs)?.value ?? null);
            const stalenessMs = ((clock.now() + skew) * 1000 - readTs.wall) / 1000;
            if (r.servedBy === "leader") {
              expect(r.fallback).toBeDefined();
              const followerStaleness = ((clock.now() + skew) * 1000 - follower.closedTimestamp.wall) / 1000;
              const floorMiss = minTimestamp !== undefined && compare(follower.closedTimestamp, minTimestamp) < 0;
              expect(followerStaleness > o.maxStalenessMs || floorMiss).toBe(true);
            } else {
              followerReads++;
              expect(lessEq(readTs, follower.closedTimestamp)).toBe(true);
              expect(stalenessMs).toBeLessThanOrEqual(o.maxStalenessMs + 1e-3);
            }
          }
        }
        totalFollowerReads += followerReads;
      }),
      { numRuns: 300 },
    );
    // The property must exercise the follower path, not only the fallback.
    expect(totalFollowerReads).toBeGreaterThan(30);
  });
});

describe("ReadRouter — cases", () => {
  it("a lagging follower falls back to the leader; once caught up and closed it serves locally", () => {
    const { clock, leader, follower, router } = cluster();
    const w = leader.write("seat", "sold");
    clock.advance(2000);
    const bounded = { consistency: "bounded-staleness" as const, maxStalenessMs: 5000 };
    // Closed timestamp published but the entry not yet applied: the follower cannot use it.
    follower.receiveClosed(leader.closeTimestamp());
    expect(follower.closedTimestamp.wall).toBe(0);
    expect(router.read({ key: "seat", consistency: bounded })).toMatchObject({ servedBy: "leader", value: "sold" });
    follower.catchUp(leader);
    expect(follower.closedTimestamp.wall).toBe((T0 + 1000) * 1000);
    const r = router.read({ key: "seat", consistency: bounded });
    expect(r).toMatchObject({ servedBy: "follower:eu", value: "sold", versionTs: w });
    // A tighter bound than the closed lag (1 s behind now... plus 0) forces the leader.
    expect(router.read({ key: "seat", consistency: { consistency: "bounded-staleness", maxStalenessMs: 500 } }).servedBy).toBe("leader");
  });

  it("read-your-writes: a session token newer than the follower's closed timestamp goes to the leader", () => {
    const { clock, leader, follower, router } = cluster();
    leader.write("cart", "1");
    clock.advance(5000);
    follower.catchUp(leader);
    follower.receiveClosed(leader.closeTimestamp());
    const mine = leader.write("cart", "2");
    const bounded = { consistency: "bounded-staleness" as const, maxStalenessMs: 10_000 };
    expect(router.read({ key: "cart", consistency: bounded })).toMatchObject({ servedBy: "follower:eu", value: "1" });
    expect(router.read({ key: "cart", consistency: bounded, minTimestamp: mine })).toMatchObject({ servedBy: "leader", value: "2" });
  });

  it("exact (AS OF) reads: follower when closed, leader otherwise, never in the future; time travel and GC", () => {
    const { clock, leader, follower, router } = cluster();
    const v1 = leader.write("price", "10");
    clock.advance(1000);
    const v2 = leader.write("price", "12");
    clock.advance(5000);
    follower.catchUp(leader);
    follower.receiveClosed(leader.closeTimestamp());
    const exact = { consistency: "exact" as const };
    expect(router.read({ key: "price", consistency: exact, asOf: v1 })).toMatchObject({ servedBy: "follower:eu", value: "10" });
    expect(router.read({ key: "price", consistency: exact, asOf: v2 })).toMatchObject({ value: "12" });
    const recent = leader.hlc.now();
    expect(router.read({ key: "price", consistency: exact, asOf: recent })).toMatchObject({ servedBy: "leader", value: "12" });
    expect(compare(leader.write("price", "13"), recent)).toBeGreaterThan(0);
    expect(() => router.read({ key: "price", consistency: exact, asOf: { wall: (clock.now() + 10_000) * 1000, logical: 0 } })).toThrow(FutureTimestampError);
    follower.store.gc(v2);
    expect(() => router.read({ key: "price", consistency: exact, asOf: v1 })).toThrow(/below the GC threshold/);
  });

  it("strong reads go to the leader and are refused while the skew monitor has the strong path frozen; eventual reads never are", () => {
    const { clock, leader, follower } = cluster();
    const skew = new SkewMonitor({ clock, maxOffsetMs: 500 });
    const router = new ReadRouter(leader, follower, clock, skew);
    leader.write("k", "v");
    follower.catchUp(leader);
    expect(router.read({ key: "k", consistency: { consistency: "strong" } })).toMatchObject({ servedBy: "leader", value: "v" });
    skew.observe(450);
    expect(() => router.read({ key: "k", consistency: { consistency: "strong" } })).toThrow(StrongPathFrozenError);
    expect(router.read({ key: "k", consistency: { consistency: "eventual" } })).toMatchObject({ servedBy: "follower:eu", value: "v", readTs: null });
    expect(router.read({ key: "k", consistency: { consistency: "bounded-staleness", maxStalenessMs: 100 } }).servedBy).toBe("leader");
  });

  it("followers refuse a log with a gap", () => {
    const { leader, follower } = cluster();
    leader.write("a", "1");
    leader.write("a", "2");
    expect(() => follower.apply(leader.entriesAfter(1))).toThrow(/gap/);
  });
});
