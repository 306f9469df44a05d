// Follower-read routing against a replica's closed-timestamp watermark: the replica never serves a read staler
// than its bound, an AS OF above its watermark, a read whose consistency token it has not reached, or a strong
// read — and it does serve whenever none of those holds (the fallback is not taken needlessly).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { routeRead, type FollowerReadRequest } from "../../../../runtime/clock/staleness/follower-route.js";
import type { ReadConsistency } from "../../../../runtime/clock/staleness/policy.js";
import { compare, type Timestamp } from "../../../../runtime/clock/timestamp.js";

const NOW_MS = 1_700_000_000_000;
const ts = fc.record({ wall: fc.integer({ min: (NOW_MS - 60_000) * 1000, max: (NOW_MS + 1000) * 1000 }), logical: fc.integer({ min: 0, max: 5 }) });
const consistency: fc.Arbitrary<ReadConsistency> = fc.oneof(
  fc.constant({ consistency: "strong" as const }),
  fc.integer({ min: 0, max: 30_000 }).map((maxStalenessMs) => ({ consistency: "bounded-staleness" as const, maxStalenessMs })),
  fc.constant({ consistency: "exact" as const }),
  fc.constant({ consistency: "eventual" as const }),
);
const request = fc
  .record({ consistency, asOf: ts, minTimestamp: fc.option(ts, { nil: undefined }) })
  .map((r): FollowerReadRequest => ({ consistency: r.consistency, ...(r.consistency.consistency === "exact" ? { asOf: r.asOf } : {}), ...(r.minTimestamp ? { minTimestamp: r.minTimestamp } : {}) }));
const stalenessOf = (w: Timestamp) => Math.max(0, NOW_MS - w.wall / 1000);

describe("routeRead", () => {
  it("serves from the replica only within the bound, at or below the watermark, at or above the token; never strong", () => {
    let replicaReads = 0;
    fc.assert(
      fc.property(request, fc.option(ts, { nil: null }), (req, watermark) => {
        const r = routeRead(req, watermark, NOW_MS);
        const c = req.consistency;
        const allowed =
          watermark !== null &&
          c.consistency !== "strong" &&
          (req.minTimestamp === undefined || compare(req.minTimestamp, watermark) <= 0) &&
          (c.consistency !== "bounded-staleness" || stalenessOf(watermark) <= c.maxStalenessMs) &&
          (c.consistency !== "exact" || compare(req.asOf!, watermark) <= 0);
        expect(r.target === "replica").toBe(allowed);
        if (r.target === "replica") {
          replicaReads++;
          expect(r.watermark).toEqual(watermark);
          if (c.consistency === "bounded-staleness") expect(r.stalenessMs).toBeLessThanOrEqual(c.maxStalenessMs);
          if (c.consistency === "exact") expect(compare(r.asOf!, watermark!)).toBeLessThanOrEqual(0);
        } else {
          expect(r.reason).not.toBe("");
          if (c.consistency === "exact") expect(r.asOf).toEqual(req.asOf);
        }
      }),
      { numRuns: 2000 },
    );
    expect(replicaReads).toBeGreaterThan(100);
  });

  it("says why the primary serves", () => {
    const w = { wall: (NOW_MS - 2000) * 1000, logical: 0 };
    expect(routeRead({ consistency: { consistency: "bounded-staleness", maxStalenessMs: 500 } }, w, NOW_MS)).toMatchObject({
      target: "primary",
      reason: "the replica is 2000.0 ms behind, beyond the 500 ms bound",
    });
    expect(routeRead({ consistency: { consistency: "exact" }, asOf: { wall: w.wall + 1, logical: 0 } }, w, NOW_MS)).toMatchObject({
      target: "primary",
      reason: expect.stringMatching(/AS OF .* is above the replica's watermark/),
    });
    expect(routeRead({ consistency: { consistency: "eventual" }, minTimestamp: { wall: w.wall, logical: 1 } }, w, NOW_MS)).toMatchObject({
      target: "primary",
      reason: expect.stringMatching(/below the consistency token's/),
    });
    expect(routeRead({ consistency: { consistency: "eventual" } }, null, NOW_MS)).toMatchObject({ target: "primary", reason: "no replica watermark" });
    expect(() => routeRead({ consistency: { consistency: "exact" } }, w, NOW_MS)).toThrow(/needs the timestamp/);
  });
});
