import { describe, expect, it } from "vitest";
import { regionTimePlan, timeHierarchy, TimeHierarchyError } from "../../../model/time/hierarchy.js";
import { specFor } from "./fixtures.js";

const targets = (stack: string, time: Record<string, unknown>) =>
  Object.fromEntries(timeHierarchy(specFor(stack, time)).map((p) => [p.cloud, p.sources.map((s) => s.target)]));

describe("time hierarchy", () => {
  it("unsmeared estates use the PHCs and the grandmaster, never the smearing cloud NTP services", () => {
    expect(targets("local", { leapSmear: false, ptp: true })).toEqual({
      aws: ["PHC /dev/ptp_ena", "grandmaster.meridian-time.svc.cluster.local"],
      gcp: ["grandmaster.meridian-time.svc.cluster.local"],
      azure: ["PHC /dev/ptp_hyperv", "grandmaster.meridian-time.svc.cluster.local"],
    });
  });

  it("smeared estates use Amazon Time Sync and the GCE metadata server, never the PHCs", () => {
    expect(targets("local", { leapSmear: true, ptp: true })).toEqual({
      aws: ["169.254.169.123", "grandmaster.meridian-time.svc.cluster.local"],
      gcp: ["metadata.google.internal", "grandmaster.meridian-time.svc.cluster.local"],
      azure: ["grandmaster.meridian-time.svc.cluster.local"],
    });
  });

  it("property over every variant: a region's sources all share the estate's smear; excluded ones say why", () => {
    for (const leapSmear of [true, false])
      for (const ptp of [false, true, { network: {} }])
        for (const plan of timeHierarchy(specFor("prod", { leapSmear, ptp }))) {
          const want = leapSmear ? "smeared" : "unsmeared";
          expect(plan.smear).toBe(want);
          expect(plan.sources.every((s) => s.smear === want)).toBe(true);
          expect(plan.excluded.every((e) => e.source.smear !== want && /never mix/.test(e.reason))).toBe(true);
        }
  });

  it("a region left without a source of the estate's kind is an error naming it and the fix", () => {
    const spec = specFor("local", { leapSmear: false, grandmaster: { enabled: false } });
    expect(() => timeHierarchy(spec)).toThrow(TimeHierarchyError);
    expect(() => timeHierarchy(spec)).toThrow(/region local-gcp \(gcp\) has no unsmeared time source: metadata\.google\.internal is smeared; enable meridian:time\.grandmaster or set meridian:time\.leapSmear to true/);
  });

  it("derives chrony's limits from the max offset and the number of sources; PHC devices are mounted", () => {
    const spec = specFor("local", { maxOffsetMs: 250, ptp: { network: {} } });
    const aws = regionTimePlan(spec, spec.regions.find((r) => r.cloud === "aws")!);
    expect(aws.maxDistanceSeconds).toBe(0.125);
    expect(aws.sources.map((s) => s.role)).toEqual(["phc", "ptp-network", "grandmaster"]);
    expect(aws.minSources).toBe(2);
    expect(aws.devices).toEqual(["/dev/ptp_ena"]);
    expect(aws.grandmaster).toMatchObject({ port: 123, smear: "unsmeared", source: "gps", replicas: 2 });
  });
});
