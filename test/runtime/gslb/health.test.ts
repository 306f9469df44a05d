import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HealthTracker } from "../../../runtime/gslb/health.js";

const policy = { failureThreshold: 3, healthyThreshold: 2, degradedShare: 0.3 };

describe("HealthTracker", () => {
  it("turns unhealthy only after failureThreshold consecutive failures", () => {
    const t = new HealthTracker(policy, ["a"], 0);
    expect(t.record("a", { ok: false, atMs: 1 })).toBeNull();
    expect(t.record("a", { ok: false, atMs: 2 })).toBeNull();
    expect(t.record("a", { ok: false, atMs: 3 })).toEqual({ region: "a", from: "healthy", to: "unhealthy", atMs: 3 });
    expect(t.get("a").sinceMs).toBe(3);
  });

  it("needs healthyThreshold good probes to recover (hysteresis)", () => {
    const t = new HealthTracker(policy, ["a"], 0);
    for (let i = 1; i <= 3; i++) t.record("a", { ok: false, atMs: i });
    expect(t.record("a", { ok: true, atMs: 4 })).toBeNull();
    expect(t.states()["a"]).toBe("unhealthy");
    expect(t.record("a", { ok: true, atMs: 5 })?.to).toBe("healthy");
  });

  it("is degraded when a reachable region fails at least degradedShare of its signals", () => {
    const t = new HealthTracker(policy, ["a"], 0);
    expect(t.record("a", { ok: true, atMs: 1, signals: { escrow: true, ratelimit: true, prooflog: false } })?.to).toBe("degraded");
    expect(t.get("a").failingSignals).toEqual(["prooflog"]);
    expect(t.record("a", { ok: true, atMs: 2, signals: { escrow: true, ratelimit: true, prooflog: true } })?.to).toBe("healthy");
  });

  it("property: a state change to unhealthy always follows exactly failureThreshold consecutive failures", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (probes) => {
        const t = new HealthTracker(policy, ["a"], 0);
        let run = 0;
        probes.forEach((ok, i) => {
          run = ok ? 0 : run + 1;
          const tr = t.record("a", { ok, atMs: i });
          if (tr?.to === "unhealthy") expect(run).toBe(policy.failureThreshold);
          if (run >= policy.failureThreshold) expect(t.states()["a"]).toBe("unhealthy");
        });
      }),
      { numRuns: 200 },
    );
  });

  it("rejects unknown regions", () => {
    expect(() => new HealthTracker(policy, ["a"], 0).record("b", { ok: true, atMs: 0 })).toThrow(/unknown region b/);
  });
});
