import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { leapOf, parseScenario, ScenarioError, ScenarioRunner } from "../../../runtime/clock/scenario.js";
import { buildEnsemble } from "../../../runtime/clock/sources/ensemble.js";

const T0 = Date.UTC(2026, 5, 1);

describe("scenarios", () => {
  it("fires each event once, in time order, and the ensemble follows", () => {
    const s = parseScenario(
      `events:
  - { atSeconds: 60, gps: restore }
  - { atSeconds: 10, gps: outage, durationSeconds: 600 }
  - { atSeconds: 20, inflateMs: 3, durationSeconds: 5 }
`,
      "drill.yaml",
    );
    const clock = new ManualClock(T0);
    const e = buildEnsemble({ clock, primary: "gps" });
    const runner = new ScenarioRunner(e, s, T0);
    expect(runner.due(T0 + 9_999)).toEqual([]);
    expect(runner.due(T0 + 21_000).map((x) => x.atSeconds)).toEqual([10, 20]);
    clock.set(T0 + 21_000);
    expect(e.sample()).toMatchObject({ holdover: true, inflationMs: 3 });
    expect(runner.due(T0 + 21_000)).toEqual([]);
    runner.due(T0 + 60_000);
    clock.set(T0 + 60_000);
    expect(e.sample().holdover).toBe(false);
    expect(runner.pending).toBe(0);
  });

  it("reads the 24:00:00 leap convention and names every problem in a bad file", () => {
    const s = parseScenario('leap: { at: "2026-12-31T24:00:00Z", kind: insert }\nsmear: true\n', "leap.yaml");
    expect(leapOf(s)).toEqual({ atMs: Date.UTC(2027, 0, 1), kind: "insert" });
    expect(leapOf(parseScenario("{}", "x"))).toBeNull();
    expect(() => parseScenario("events: [{ atSeconds: 1, gps: spoofing }]", "bad.yaml")).toThrow(/bad.yaml: invalid scenario[\s\S]*offsetMs/);
    expect(() => parseScenario("events: [{ atSeconds: 1, gps: flood }]\nextra: 1", "bad.yaml")).toThrow(ScenarioError);
    expect(() => parseScenario("events: [", "broken.yaml")).toThrow(/not valid YAML/);
  });
});
