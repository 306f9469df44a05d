import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { greatCircleKm, rttMs, defaultLatencyModel } from "../../../model/placement/latency.js";
import { placeReplicas, type PlacementProblem } from "../../../model/placement/greedy.js";
import { placementForSpec, replicaMonthlyUSD } from "../../../model/placement/spec.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";

describe("latency estimate", () => {
  it("a quarter of the equator: 10,007.54 km → 2 × 10,007.54 × 1.5 / 200 + 5 = 155.11 ms", () => {
    const a = { id: "a", lat: 0, lon: 0 };
    const b = { id: "b", lat: 0, lon: 90 };
    expect(greatCircleKm(a, b)).toBeCloseTo(10007.54, 2); // 6371 × π/2
    expect(rttMs(defaultLatencyModel, a, b)).toBeCloseTo(155.11, 2);
  });
  it("a measured figure overrides the estimate in either direction", () => {
    const model = { ...defaultLatencyModel, overrides: { "a→b": 42 } };
    expect(rttMs(model, { id: "b", lat: 0, lon: 0 }, { id: "a", lat: 0, lon: 90 })).toBe(42);
  });
});

// Demand sits at lon 0 and every region at lon 180 (RTT ≈ 305 ms), so only the measured overrides below
// put anything within the 50 ms SLA — the example reads as a table.
const far = { lat: 0, lon: 180 };
function problem(budgetUSD: number): PlacementProblem {
  return {
    demand: [
      { id: "d1", lat: 0, lon: 0, weight: 30 },
      { id: "d2", lat: 0, lon: 0, weight: 30 },
      { id: "d3", lat: 0, lon: 0, weight: 25 },
      { id: "d4", lat: 0, lon: 0, weight: 25 },
    ],
    candidates: [
      { id: "A", ...far, monthlyUSD: 10 },
      { id: "B", ...far, monthlyUSD: 10 },
      { id: "C", ...far, monthlyUSD: 10 },
    ],
    fixed: [{ id: "W", ...far }],
    slaMs: 50,
    budgetUSD,
    latency: { ...defaultLatencyModel, overrides: { "d1→A": 20, "d2→A": 30, "d1→B": 40, "d3→B": 25, "d2→C": 45, "d4→C": 35 } },
  };
}

describe("placeReplicas", () => {
  it("greedy picks A (60 demand / $10), then B (+25); the swap pass trades A for C to cover all 110", () => {
    const p = placeReplicas(problem(20));
    expect(p.steps).toEqual(["greedy: add A (+60 demand for $10)", "greedy: add B (+25 demand for $10)", "swap: A → C (covered 85 → 110, $20 → $20)"]);
    expect(p.replicas.sort()).toEqual(["B", "C"]);
    expect(p.coverage).toBe(1);
    expect(p.monthlyUSD).toBe(20);
    // Best RTTs: d3 25 (B), d4 35 (C), d1 40 (B), d2 45 (C); cumulative weight 25, 50, 80, 110.
    // p50 needs 55 → d1 at 40 ms; p95 needs 104.5 → d2 at 45 ms.
    expect([p.p50Ms, p.p95Ms]).toEqual([40, 45]);
    expect(p.assignments.find((a) => a.demand === "d1")).toEqual({ demand: "d1", region: "B", rttMs: 40, withinSla: true });
  });
  it("a $10 budget keeps A alone: 60 of 110 covered", () => {
    const p = placeReplicas(problem(10));
    expect(p.replicas).toEqual(["A"]);
    expect(p.coverage).toBeCloseTo(60 / 110, 10);
    // Uncovered d3 and d4 are served by the writer at ~305 ms: p50 (55) is d2 at 30 ms, p95 the writer.
    expect(p.p50Ms).toBe(30);
    expect(p.p95Ms).toBeGreaterThan(300);
  });
  it("never exceeds the budget and never covers less than greedy alone could", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 120 }), (costs, budget) => {
        const base = problem(budget);
        const p = placeReplicas({ ...base, candidates: base.candidates.map((c, i) => ({ ...c, monthlyUSD: costs[i]! })) });
        expect(p.monthlyUSD).toBeLessThanOrEqual(budget);
        expect(p.coverage).toBeGreaterThanOrEqual(0);
        expect(p.coverage).toBeLessThanOrEqual(1);
      }),
      { numRuns: 100 },
    );
  });
});

describe("placement for a stack", () => {
  const prod = buildEstateSpec("prod", loadStack("prod"));
  it("a candidate's cost is its running cost plus every writer's volume sent to it at list price", () => {
    // azure-weu: aws-use1 4,000 × 0.09 + aws-euw1 3,500 × 0.09 + gcp-asne1 2,500 × 0.12 = 360 + 315 + 300 = 975, + 500
    expect(replicaMonthlyUSD(prod, "azure-weu", 500)).toBe(1475);
    // gcp-usc1: 360 + 315 + gcp-asne1 → us-central1 intercontinental 2,500 × 0.08 = 200 → 875, + 500
    expect(replicaMonthlyUSD(prod, "gcp-usc1", 500)).toBe(1375);
  });
  it("Singapore and Amsterdam readers, 60 ms SLA: a $1,500 budget buys the Singapore replica only", () => {
    const spec = {
      ...prod,
      replication: {
        ...prod.replication,
        placement: {
          slaMs: 60,
          monthlyBudgetUSD: 1500,
          replicaMonthlyUSD: 500,
          demand: [
            { id: "singapore", lat: 1.29, lon: 103.85, weight: 40 },
            { id: "amsterdam", lat: 52.37, lon: 4.9, weight: 30 },
          ],
          routeFactor: 1.5,
          overheadMs: 5,
          latencyOverridesMs: {},
        },
      },
    };
    const p = placementForSpec(spec)!;
    // Amsterdam is ~16 ms from the aws-euw1 writer (≈755 km: 2 × 755 × 1.5 / 200 + 5), covered for free;
    // Singapore is ~5 ms from azure-sea ($1,475) and ~85 ms from the nearest writer (Tokyo, ≈5,300 km).
    expect(p.replicas).toEqual(["azure-sea"]);
    expect(p.coverage).toBe(1);
    expect(p.monthlyUSD).toBe(1475);
  });
  it("names unknown candidate regions and override keys", () => {
    const spec = {
      ...prod,
      replication: {
        ...prod.replication,
        placement: { ...prod.replication.placement!, candidates: ["mars-1"], latencyOverridesMs: { "tokyo→nowhere": 5 } },
      },
    };
    expect(() => placementForSpec(spec)).toThrow(
      /Pulumi\.prod\.yaml: 2 config problems\n {2}- meridian:replication\.placement\.candidates\[0\]: got "mars-1"; a region id: aws-use1, .*\n {2}- meridian:replication\.placement\.latencyOverridesMs\.tokyo→nowhere/,
    );
  });
});
