// The meridian:time block: defaults, the PTP shorthand, and errors that name the key and the fix.
import { describe, expect, it } from "vitest";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { timeSchema } from "../../../model/config/time.js";

const withTime = (time: unknown) => () => parseEstateConfig({ ...readStackConfigMap("prod"), "meridian:time": time }, "Pulumi.prod.yaml");

describe("meridian:time", () => {
  it("defaults: max offset 500 ms, no PTP, a GPS grandmaster, unsmeared, CockroachDB-style skew fractions", () => {
    expect(timeSchema.parse({})).toMatchObject({
      maxOffsetMs: 500,
      ptp: { enabled: false },
      grandmaster: { enabled: true, source: "gps", replicas: 2 },
      leapSmear: false,
      skew: { degradeFraction: 0.5, freezeFraction: 0.8, recoveryHoldSeconds: 30 },
      driftPpm: 200,
    });
  });

  it("ptp accepts a boolean or an object with a PTP network (defaults filled in)", () => {
    expect(timeSchema.parse({ ptp: true }).ptp).toEqual({ enabled: true, network: undefined });
    expect(timeSchema.parse({ ptp: { network: {} } }).ptp).toEqual({ enabled: true, network: { interface: "eth0", domainNumber: 0, transport: "L2", timestamping: "hardware" } });
  });

  it("names the key, the value and the expectation", () => {
    expect(withTime({ ptp: "yes" })).toThrow(/meridian:time\.ptp: got "yes"; expected true, false, or \{ enabled, network/);
    expect(withTime({ skew: { degradeFraction: 0.9 } })).toThrow(/meridian:time\.skew\.degradeFraction: got 0\.9; must be below freezeFraction \(0\.8\)/);
    expect(withTime({ grandmaster: { source: "sundial" } })).toThrow(/meridian:time\.grandmaster\.source/);
    expect(withTime({ ptp: { network: { domainNumber: 300 } } })).toThrow(/meridian:time\.ptp\.network\.domainNumber/);
    expect(withTime({ references: [{ server: "ntp server;rm" }] })).toThrow(/meridian:time\.references\[0\]\.server: got "ntp server;rm"; expected a host name or an IP address/);
    expect(withTime({ references: [{ server: "nts.netnod.se", smear: "sometimes" }] })).toThrow(/meridian:time\.references\[0\]\.smear/);
  });
});
