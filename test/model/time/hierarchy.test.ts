import { describe, expect, it } from "vitest";
import { regionTimePlan, timeHierarchy, TimeHierarchyError } from "../../../model/time/hierarchy.js";
import { specFor } from "./fixtures.js";

const targets = (stack: string, time: Record<string, unknown>) => Object.fromEntries(timeHierarchy(specFor(stack, time)).map((p) => [p.cloud, p.sources.map((s) => s.target)]));

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
    // Three references of each time scale (Google Public NTP smears), so every variant's relay can vote.
    const references = [
      { server: "nts.netnod.se" },
      { server: "ptbtime1.ptb.de" },
      { server: "nts.time.nl" },
      ...["time1.google.com", "time2.google.com", "time3.google.com"].map((server) => ({ server, nts: false, smear: "smeared" })),
    ];
    for (const leapSmear of [true, false])
      for (const ptp of [false, true, { network: {} }])
        for (const plan of timeHierarchy(specFor("prod", { leapSmear, ptp, references }))) {
          const want = leapSmear ? "smeared" : "unsmeared";
          expect(plan.smear).toBe(want);
          expect(plan.sources.every((s) => s.smear === want)).toBe(true);
          expect(plan.excluded.every((e) => e.source.smear !== want && /never mix/.test(e.reason))).toBe(true);
        }
  });

  it("a region left without a source of the estate's kind is an error naming it and the fix", () => {
    const spec = specFor("local", { leapSmear: false, grandmaster: { enabled: false } });
    expect(() => timeHierarchy(spec)).toThrow(TimeHierarchyError);
    expect(() => timeHierarchy(spec)).toThrow(
      /region local-gcp \(gcp\) has no unsmeared time source: metadata\.google\.internal is smeared; enable meridian:time\.grandmaster or set meridian:time\.leapSmear to true/,
    );
  });

  it("derives chrony's limits from the max offset and the number of sources; PHC devices are mounted", () => {
    const spec = specFor("local", { maxOffsetMs: 250, ptp: { network: {} } });
    const aws = regionTimePlan(
      spec,
      spec.regions.find((r) => r.cloud === "aws")!,
    );
    expect(aws.maxDistanceSeconds).toBe(0.125);
    expect(aws.sources.map((s) => s.role)).toEqual(["phc", "ptp-network", "grandmaster"]);
    expect(aws.minSources).toBe(2);
    expect(aws.devices).toEqual(["/dev/ptp_ena"]);
    expect(aws.grandmaster).toMatchObject({ port: 123, smear: "unsmeared", source: "gps", replicas: 2 });
  });

  it("a cloud region without an independent source is refused (no simulator there, nothing for a relay to vote over), naming it and the fix", () => {
    // staging without references: unsmeared, no PTP — AWS and GCP have only their smearing NTP services.
    const spec = specFor("staging", { references: [] });
    expect(() => timeHierarchy(spec)).toThrow(TimeHierarchyError);
    const message = (() => {
      try {
        timeHierarchy(spec);
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })();
    const refused = message.split("\n").map((l) => /^region (\S+) \((\w+)\) has no independent unsmeared time source \(the simulated grandmaster runs only in local/.exec(l)?.slice(1, 3).join(":"));
    expect(refused.sort()).toEqual(
      spec.regions
        .filter((r) => r.cloud !== "azure")
        .map((r) => `${r.id}:${r.cloud}`)
        .sort(),
    );
    expect(message).toMatch(/add an independent unsmeared reference under meridian:time\.references .* or set meridian:time\.leapSmear to true/);
  });

  it("every cloud stack as shipped has an independent source in every region; only local may run on the simulator", () => {
    for (const stack of ["dev", "staging", "prod"])
      for (const plan of timeHierarchy(specFor(stack)))
        expect(
          plan.sources.some((s) => s.role !== "grandmaster"),
          `${stack}/${plan.region}`,
        ).toBe(true);
    const local = timeHierarchy(specFor("local", { leapSmear: false, references: [] }));
    expect(local.find((p) => p.cloud === "gcp")!.sources.map((s) => s.role)).toEqual(["grandmaster"]);
  });

  it("in cloud regions the grandmaster is a relay voting over the region's NTP upstreams (prod: three or more in every region, so one falseticker is outvoted); only local runs the simulator", () => {
    for (const plan of timeHierarchy(specFor("prod"))) {
      const gm = plan.grandmaster!;
      expect(gm.mode, plan.region).toBe("relay");
      // Majority rule: more than half of the configured references must agree, so outvoting one needs three.
      expect(gm.references.length, plan.region).toBeGreaterThanOrEqual(3);
      // Its references are exactly the region's own NTP upstreams of the estate's time scale, which chrony also follows directly.
      const upstreams = plan.sources.filter((s) => s.directive === "server" && s.role !== "grandmaster").map((s) => `${s.target}:123`);
      expect(gm.references.map((r) => r.server).sort(), plan.region).toEqual(upstreams.sort());
      expect(plan.sources.filter((s) => s.role === "grandmaster").map((s) => s.note)[0]).toMatch(/relay \(Marzullo vote over .*stratum 16 without a majority/);
    }
    for (const stack of ["dev", "staging"]) for (const plan of timeHierarchy(specFor(stack))) expect(plan.grandmaster?.mode ?? "relay", `${stack}/${plan.region}`).toBe("relay");
    for (const plan of timeHierarchy(specFor("local"))) expect(plan.grandmaster).toMatchObject({ mode: "simulator", references: [] });
    // A cloud region with nothing for a relay to poll (Azure's PHC is a node device) runs without a grandmaster, on its PHC.
    const bare = specFor("prod", { references: [] });
    const azure = bare.regions.filter((r) => r.cloud === "azure").map((r) => regionTimePlan(bare, r));
    expect(azure.length).toBeGreaterThan(0);
    for (const p of azure) expect([p.grandmaster, p.sources.map((s) => s.role)]).toEqual([null, ["phc"]]);
  });

  it("a relay with fewer than three references is refused in every cloud environment, naming the region and the count", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const spec = specFor(stack, { references: [{ server: "nts.netnod.se" }, { server: "ptbtime1.ptb.de" }] });
      let message = "";
      try {
        timeHierarchy(spec);
      } catch (e) {
        expect(e).toBeInstanceOf(TimeHierarchyError);
        message = (e as Error).message;
      }
      // Every region's relay would poll only those two (PHCs are chrony's alone; the clouds' NTP services smear).
      for (const r of spec.regions)
        expect(message, `${stack}/${r.id}`).toContain(
          `region ${r.id} (${r.cloud}): its grandmaster relay would vote over 2 unsmeared references (nts.netnod.se, ptbtime1.ptb.de), and Marzullo's majority needs at least 3 to outvote one falseticker`,
        );
      expect(message).toMatch(/add independent unsmeared references under meridian:time\.references .* or set meridian:time\.grandmaster\.enabled to false/);
    }
    // One reference (a smeared estate on AWS: Amazon Time Sync alone) is refused the same way; without a grandmaster it is chrony's.
    expect(() => timeHierarchy(specFor("staging", { leapSmear: true, references: [] }))).toThrow(
      /region aws-use1 \(aws\): its grandmaster relay would vote over 1 smeared reference \(169\.254\.169\.123\)/,
    );
    expect(() => timeHierarchy(specFor("staging", { leapSmear: true, references: [], grandmaster: { enabled: false } }))).toThrow(/region azure-sea \(azure\) has no independent smeared time source/);
    // The shipped stacks: three references for every relay.
    for (const stack of ["dev", "staging", "prod"])
      for (const plan of timeHierarchy(specFor(stack))) expect(plan.grandmaster?.references.length ?? 3, `${stack}/${plan.region}`).toBeGreaterThanOrEqual(3);
  });

  it("references render as NTS servers in the regions they name; an unknown region is an error", () => {
    const appliance = { server: "10.20.0.5", nts: false, regions: ["aws-use1"] };
    const nts = [{ server: "nts.netnod.se" }, { server: "ptbtime1.ptb.de" }, { server: "nts.time.nl" }];
    const plans = timeHierarchy(specFor("prod", { ptp: true, references: [...nts, appliance] }));
    const sources = (id: string) => plans.find((p) => p.region === id)!.sources.filter((s) => s.role === "reference");
    expect(sources("aws-use1").map((s) => [s.target, ...s.options].join(" "))).toEqual([...nts.map((r) => `${r.server} iburst nts`), "10.20.0.5 iburst"]);
    expect(sources("gcp-usc1").map((s) => s.target)).toEqual(nts.map((r) => r.server));
    expect(() => timeHierarchy(specFor("prod", { ptp: true, references: [...nts, { ...appliance, regions: ["aws-use9"] }] }))).toThrow(
      /reference 10\.20\.0\.5 names region aws-use9, which is not one of this stack's regions/,
    );
  });
});
