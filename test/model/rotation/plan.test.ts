import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { loadStack } from "../../../stacks/load.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { canaryRegion, minRenewalGapMs, nextStep, planRotation, renewalInstants, waveRegions, ROLLBACK_RULE } from "../../../model/rotation/plan.js";
import { durationSeconds } from "../../../model/config/vocabulary.js";

const prod = buildEstateSpec("prod", loadStack("prod"));
const START = Date.UTC(2026, 11, 1, 9, 0);
const H = 3600_000;

/** prod with N regions (capacities vary) and the given rotation settings. */
function withRegions(n: number, rotation: Partial<EstateSpec["pki"]["rotation"]>): EstateSpec {
  const template = prod.regions[0]!;
  const regions = Array.from({ length: n }, (_, i) => ({ ...template, id: `r-${String(i).padStart(2, "0")}`, capacity: 1000 + ((i * 7919) % 50) * 100 }));
  return { ...prod, regions, pki: { ...prod.pki, rotation: { ...prod.pki.rotation, canary: undefined, ...rotation } } };
}

describe("rotation plan (prod)", () => {
  const plan = planRotation(prod, START);

  it("starts with the configured canary, then 25% of regions, then the rest — smallest capacity first", () => {
    expect(plan.waves.map((w) => [w.name, w.regions])).toEqual([
      ["canary", ["azure-weu"]],
      ["wave 1", ["azure-sea"]],
      ["wave 2", ["gcp-asne1", "gcp-usc1", "aws-euw1", "aws-use1"]],
    ]);
    expect(plan.waves.map((w) => w.share)).toEqual([1 / 6, 2 / 6, 1]);
  });

  it("spaces waves by the stagger; each gate follows the rollout and ends before the next wave", () => {
    expect(plan.waves.map((w) => (w.startsAt - START) / H)).toEqual([0, 24, 48]);
    for (const w of plan.waves) {
      expect(w.gateStartsAt - w.startsAt).toBe(10 * 60_000);
      expect(w.gateEndsAt - w.gateStartsAt).toBe(30 * 60_000);
    }
    expect(plan.endsAt).toBe(START + 48 * H + 40 * 60_000);
  });

  it("staggers renewBefore: the canary renews first, one stagger ahead of each later wave", () => {
    expect(plan.waves.map((w) => w.renewBefore)).toEqual(["768h", "744h", "720h"]);
  });

  it("gates check certificate readiness, the served serial, failure alerts and handshake errors for the wave's regions", () => {
    const gate = plan.waves[2]!.gate;
    expect(gate.map((g) => g.name)).toEqual(["gateway certificate Ready", "new certificate served", "no certificate or SVID failures", "mesh handshake errors within budget"]);
    expect(gate[0]!.check).toContain('cluster=~"gcp-asne1|gcp-usc1|aws-euw1|aws-use1"');
    expect(gate[1]!.check.split("\n")).toHaveLength(4);
    expect(gate[3]!.pass).toMatch(/below 0\.0005/);
  });

  it("defaults the canary to the smallest-capacity region", () => {
    const spec = { ...prod, pki: { ...prod.pki, rotation: { ...prod.pki.rotation, canary: undefined } } };
    expect(canaryRegion(spec).id).toBe("azure-sea");
  });
});

describe("rotation plan invariants (property)", () => {
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 30 }),
    waves: fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 4 }).map((xs) => [...xs.sort((a, b) => a - b).map((x) => x / 100), 1]),
    staggerHours: fc.integer({ min: 1, max: 48 }),
  });

  it("every region is in exactly one wave; waves only grow the share; times are ordered", () => {
    fc.assert(
      fc.property(arb, ({ n, waves, staggerHours }) => {
        const spec = withRegions(n, { waves, staggerHours, gateMinutes: 20, applyMinutes: 5 });
        const plan = planRotation(spec, START);
        const all = plan.waves.flatMap((w) => w.regions);
        expect(all.sort()).toEqual(spec.regions.map((r) => r.id).sort());
        expect(plan.waves[0]!.regions).toHaveLength(1);
        for (let i = 1; i < plan.waves.length; i += 1) {
          const [prev, cur] = [plan.waves[i - 1]!, plan.waves[i]!];
          expect(cur.regions.length).toBeGreaterThan(0);
          expect(cur.share).toBeGreaterThan(prev.share);
          expect(cur.startsAt).toBeGreaterThanOrEqual(prev.gateEndsAt);
          expect(durationSeconds(cur.renewBefore)).toBe(durationSeconds(prev.renewBefore) - staggerHours * 3600);
        }
        expect(plan.waves.at(-1)!.share).toBe(1);
      }),
      { numRuns: 150 },
    );
  });

  it("a failed gate rolls back that wave only and no later wave ever starts", () => {
    fc.assert(
      fc.property(arb, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), ({ n, waves }, outcomes) => {
        const plan = planRotation(withRegions(n, { waves }), START);
        const results = outcomes.slice(0, plan.waves.length).map((passed, wave) => ({ wave, passed, failedChecks: passed ? [] : ["gateway certificate Ready"] }));
        const step = nextStep(plan, results);
        const firstFail = results.findIndex((r) => !r.passed);
        if (firstFail >= 0) {
          expect(step).toEqual({
            action: "rollback",
            wave: firstFail,
            regions: plan.waves[firstFail]!.regions,
            keep: plan.waves.slice(0, firstFail).flatMap((w) => w.regions),
            failedChecks: ["gateway certificate Ready"],
          });
        } else if (results.length < plan.waves.length) {
          expect(step).toEqual({ action: "verify", wave: results.length, regions: plan.waves[results.length]!.regions });
        } else {
          expect(step).toEqual({ action: "done" });
        }
      }),
      { numRuns: 200 },
    );
  });

  it("results reported for waves after a failure are ignored", () => {
    const plan = planRotation(prod, START);
    expect(
      nextStep(plan, [
        { wave: 0, passed: false },
        { wave: 1, passed: true },
        { wave: 2, passed: true },
      ]),
    ).toMatchObject({ action: "rollback", wave: 0, keep: [] });
    expect(nextStep(plan, [{ wave: 1, passed: true }])).toEqual({ action: "verify", wave: 0, regions: ["azure-weu"] });
    expect(plan.rollback).toBe(ROLLBACK_RULE);
  });

  it("automatic renewals of different waves stay at least a stagger apart for three years", () => {
    const plan = planRotation(prod, START);
    const instants = renewalInstants(prod, plan, START, 3 * 365 * 24 * H);
    expect(instants.length).toBeGreaterThan(3 * 6);
    expect(instants.filter((i) => i.wave === 0)[0]!.at).toBeLessThan(instants.filter((i) => i.wave === 1)[0]!.at);
    expect(minRenewalGapMs(instants)).toBeGreaterThanOrEqual(24 * H);
  });
});

describe("wave grouping edge cases", () => {
  it("one region: only the canary", () => {
    expect(waveRegions(withRegions(1, {}))).toEqual([{ share: 1, regions: ["r-00"] }]);
  });
  it("two regions with [0.25, 1]: canary then the other (the 25% wave would be empty)", () => {
    expect(waveRegions(withRegions(2, {})).map((w) => w.regions.length)).toEqual([1, 1]);
  });
});
