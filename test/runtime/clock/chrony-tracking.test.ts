// `chronyc -c tracking` parsing and the ClockBound-style status, on real chrony 4.3 output (test/testdata/chrony).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { clockBound, parseTracking, TrackingParseError } from "../../../runtime/clock/chrony-tracking.js";

const sample = (name: string) => readFileSync(new URL(`../../testdata/chrony/${name}`, import.meta.url), "utf8");

describe("parseTracking", () => {
  it("reads chrony's 14 CSV fields in chronyc's order, keeping the system time's sign (negative = fast)", () => {
    expect(parseTracking(sample("tracking-synchronised.csv"))).toEqual({
      referenceId: "7F000001",
      referenceName: "127.0.0.1",
      stratum: 2,
      refTimeS: Number("1796214494.180542146"),
      systemTimeS: -0.00000153,
      lastOffsetS: 0.000000003,
      rmsOffsetS: 0.000000041,
      frequencyPpm: -0.001,
      residualFrequencyPpm: -0.001,
      skewPpm: 0.107,
      rootDelayS: 0.000006759,
      rootDispersionS: 0.00000118,
      updateIntervalS: 0.1,
      leapStatus: "Normal",
    });
    expect(parseTracking(sample("tracking-unsynchronised.csv"))).toMatchObject({ referenceId: "00000000", referenceName: "", stratum: 0, refTimeS: 0, leapStatus: "Not synchronised" });
  });

  it("refuses what chronyc does not print, naming the field", () => {
    const good = sample("tracking-synchronised.csv").trim();
    const cases: [string, RegExp][] = [
      ["", /expected 14 fields, got 1/],
      [`${good}\n${good}`, /one line/],
      [good.replace("7F000001", "localhost"), /reference ID "localhost"/],
      [good.replace(",2,", ",x,"), /stratum "x" is not a number/],
      [good.replace(",2,", ",17,"), /stratum 17 is not 0–16/],
      [good.replace(",0.000006759,", ",-1,"), /rootDelayS -1 is negative/],
      [good.replace(",0.000006759,", ",1e3,"), /rootDelayS "1e3" is not a number/],
      [good.replace("Normal", "Fine"), /leap status "Fine"/],
      [`${good},extra`, /expected 14 fields, got 15/],
    ];
    for (const [text, message] of cases) expect(() => parseTracking(text), text).toThrow(message);
    expect(() => parseTracking("")).toThrow(TrackingParseError);
  });
});

describe("clockBound", () => {
  const synced = parseTracking(sample("tracking-synchronised.csv"));

  it("SYNCHRONIZED: bound = |system time| + root delay / 2 + root dispersion + drift since the update", () => {
    const r = clockBound(synced, synced.refTimeS + 10);
    expect(r.status).toBe("SYNCHRONIZED");
    expect(r.offsetMs).toBeCloseTo(-0.00153, 9);
    expect(r.errorBoundMs).toBeCloseTo((0.00000153 + 0.000006759 / 2 + 0.00000118 + 10 * 15e-6) * 1000, 9);
    // The offset's own error leaves out |system time|: it is what chrony could have got wrong, not the offset itself.
    expect(r.offsetErrorMs).toBeCloseTo((0.000006759 / 2 + 0.00000118 + 10 * 15e-6) * 1000, 9);
  });

  it("FREE_RUNNING once the last update is stale (the lost-source sample) or chrony is not synchronised; the bound keeps growing", () => {
    const lost = parseTracking(sample("tracking-source-lost.csv"));
    expect(clockBound(lost, lost.refTimeS + 20).status).toBe("SYNCHRONIZED");
    const stale = clockBound(lost, lost.refTimeS + 2000);
    expect(stale).toMatchObject({ status: "FREE_RUNNING", reason: expect.stringMatching(/2000 s old, beyond 1024 s/) });
    expect(stale.errorBoundMs!).toBeGreaterThan(2000 * 15e-6 * 1000);
    expect(clockBound({ ...synced, leapStatus: "Not synchronised" }, synced.refTimeS + 5).status).toBe("FREE_RUNNING");
  });

  it("DISRUPTED when chrony never synchronised or its last update is in the future; no bound", () => {
    expect(clockBound(parseTracking(sample("tracking-unsynchronised.csv")), 1_800_000_000)).toMatchObject({ status: "DISRUPTED", errorBoundMs: null, offsetErrorMs: null, offsetMs: null });
    expect(clockBound(synced, synced.refTimeS - 60)).toMatchObject({ status: "DISRUPTED", reason: expect.stringMatching(/stepped back/) });
  });
});
