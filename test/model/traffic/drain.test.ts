import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { answerSet, type RegionHealth } from "../../../model/traffic/answer.js";
import { drain, DrainRefused, restore } from "../../../model/traffic/drain.js";
import { HEALTH_STATES } from "../../../model/traffic/health.js";
import { routingModes } from "../../../model/config/traffic.js";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { readStackConfigMap, parseEstateConfig } from "../../../stacks/load.js";
import { specWithDns } from "./fixtures.js";

const ids = ["aws-use1", "aws-euw1", "gcp-usc1", "gcp-asne1", "azure-weu", "azure-sea"];
const policyFor = (patch: Record<string, unknown>) => trafficPolicy(specWithDns("prod", { providers: { primary: "local" }, ...patch }));

describe("drain / restore (operator routing controls)", () => {
  it("drains a known region, keeping stack order, and restores it", () => {
    expect(drain(ids, ["azure-sea"], "aws-euw1")).toEqual(["aws-euw1", "azure-sea"]);
    expect(drain(ids, ["aws-euw1"], "aws-euw1")).toEqual(["aws-euw1"]);
    expect(restore(ids, ["aws-euw1", "azure-sea"], "aws-euw1")).toEqual(["azure-sea"]);
  });

  it("refuses an unknown region and the last undrained one", () => {
    expect(() => drain(ids, [], "mars-1")).toThrow(new DrainRefused("unknown region mars-1; expected one of aws-use1, aws-euw1, gcp-usc1, gcp-asne1, azure-weu, azure-sea"));
    expect(() => restore(ids, [], "mars-1")).toThrow(DrainRefused);
    expect(() => drain(ids, ids.slice(1), "aws-use1")).toThrow(/refusing to drain aws-use1: it is the last undrained region/);
    expect(() => drain(["solo"], [], "solo")).toThrow(/last undrained region/);
  });

  it("a stack that drains every region, or an unknown one, is refused at load", () => {
    const config = readStackConfigMap("prod");
    const dns = config["meridian:dns"] as Record<string, unknown>;
    expect(() => parseEstateConfig({ ...config, "meridian:dns": { ...dns, drained: ids } }, "prod")).toThrow(/every region is drained; at least one must answer/);
    expect(() => parseEstateConfig({ ...config, "meridian:dns": { ...dns, drained: ["mars-1"] } }, "prod")).toThrow(/unknown region id/);
  });

  it("property: no mode ever answers with a drained region, in any health (fail-open included)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...routingModes.filter((m) => m !== "anycast")),
        fc.subarray(ids, { minLength: 1, maxLength: ids.length - 1 }),
        fc.array(fc.constantFrom(...HEALTH_STATES), { minLength: ids.length, maxLength: ids.length }),
        (mode, drained, states) => {
          const policy = policyFor({ routing: mode, drained, ...(mode === "latency" ? { providers: { primary: "local" } } : {}) });
          const health: RegionHealth = Object.fromEntries(ids.map((id, i) => [id, states[i]!]));
          const set = answerSet(policy, health);
          expect(set.answers.length).toBeGreaterThan(0);
          for (const a of set.answers) expect(drained).not.toContain(a.regionId);
        },
      ),
    );
  });
});
