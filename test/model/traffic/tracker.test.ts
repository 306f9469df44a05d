import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { answerSet } from "../../../model/traffic/answer.js";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { HealthTracker } from "../../../model/traffic/tracker.js";
import { specWithDns } from "./fixtures.js";

const prod = () => trafficPolicy(specWithDns("prod", { providers: { primary: "local" } }));

describe("HealthTracker", () => {
  it("marks a signal down after failureThreshold consecutive failures and up after as many passes", () => {
    const tracker = new HealthTracker(prod()); // threshold 3
    expect(tracker.record("aws-use1", "escrow", false)).toBe(false);
    expect(tracker.record("aws-use1", "escrow", true)).toBe(false); // a pass resets the streak
    tracker.record("aws-use1", "escrow", false);
    tracker.record("aws-use1", "escrow", false);
    expect(tracker.signalUp("aws-use1", "escrow")).toBe(true);
    expect(tracker.record("aws-use1", "escrow", false)).toBe(true);
    expect(tracker.signalUp("aws-use1", "escrow")).toBe(false);
    tracker.record("aws-use1", "escrow", true);
    tracker.record("aws-use1", "escrow", true);
    expect(tracker.record("aws-use1", "escrow", true)).toBe(true);
    expect(tracker.signalUp("aws-use1", "escrow")).toBe(true);
  });

  it("derives degraded and unhealthy from the signals, and feeds answerSet", () => {
    const policy = prod();
    const tracker = new HealthTracker(policy);
    const fail = (region: string, signal: string) => [1, 2, 3].forEach(() => tracker.record(region, signal, false));
    fail("aws-euw1", "escrow");
    expect(tracker.state("aws-euw1")).toBe("healthy"); // 1 of 3 < 34%
    fail("aws-euw1", "replication");
    expect(tracker.state("aws-euw1")).toBe("degraded");
    fail("azure-weu", "gateway");
    fail("azure-weu", "escrow");
    fail("azure-weu", "replication");
    expect(tracker.health()).toMatchObject({ "aws-euw1": "degraded", "azure-weu": "unhealthy", "aws-use1": "healthy" });
    expect(answerSet(policy, tracker.health(), { continent: "europe" }).answers).toEqual([{ regionId: "aws-euw1", weight: 50 }]);
  });

  it("names an unknown region or signal", () => {
    const tracker = new HealthTracker(prod());
    expect(() => tracker.record("mars-1", "escrow", true)).toThrow(/unknown region mars-1/);
    expect(() => tracker.record("aws-use1", "disk", true)).toThrow(/unknown signal disk of aws-use1; expected gateway, escrow, replication/);
  });

  it("a signal is down exactly when its last `threshold` results failed since it was last up", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), (results) => {
        const tracker = new HealthTracker(prod());
        let up = true;
        let streak = 0;
        for (const r of results) {
          tracker.record("gcp-usc1", "gateway", r);
          streak = r === up ? 0 : streak + 1;
          if (streak >= 3) [up, streak] = [r, 0];
          expect(tracker.signalUp("gcp-usc1", "gateway")).toBe(up);
        }
      }),
      { numRuns: 200 },
    );
  });
});
