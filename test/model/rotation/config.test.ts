import { describe, expect, it } from "vitest";
import { pkiSchema } from "../../../model/config/pki.js";

const base = { acme: { email: "pki@example.com" }, trustDomain: "prod.meridian.internal" };
const messages = (input: unknown) => {
  const r = pkiSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("meridian:pki config keeps rotation and alerting consistent", () => {
  it("accepts the defaults", () => {
    expect(messages(base)).toEqual([]);
    const parsed = pkiSchema.parse(base);
    expect(parsed.rotation).toEqual({ waves: [0.25, 1], gateMinutes: 30, applyMinutes: 10, staggerHours: 24 });
    expect(parsed.acme.dns01.route53.region).toBe("us-east-1");
  });

  it("refuses a stagger that would push the canary's renewBefore past the certificate's duration", () => {
    expect(messages({ ...base, certificate: { duration: "1000h", renewBefore: "900h" }, rotation: { staggerHours: 72 } })).toEqual([
      "certificate.renewBefore: renewBefore plus 2 staggers of 72h must stay below duration 1000h",
    ]);
    expect(messages({ ...base, certificate: { duration: "1000h", renewBefore: "900h" }, rotation: { staggerHours: 40 } })).toEqual([]);
  });

  it("refuses waves that do not grow to 100%, a gate longer than the stagger, and inverted alert thresholds", () => {
    expect(messages({ ...base, rotation: { waves: [0.5, 0.25] } })).toEqual([
      "rotation.waves.1: expected cumulative shares, each above 0 and above the previous wave",
      "rotation.waves: the last wave must reach 1 (every region)",
    ]);
    expect(messages({ ...base, rotation: { staggerHours: 1, gateMinutes: 55 } })).toEqual(["rotation.gateMinutes: applyMinutes + gateMinutes must fit in the 1h stagger between waves"]);
    expect(messages({ ...base, expiryAlerts: { warningDays: 7, criticalDays: 7 } })).toEqual(["expiryAlerts.criticalDays: must be fewer days than warningDays (7)"]);
    expect(messages({ ...base, expiryAlerts: { warningDays: 40, criticalDays: 7 } })).toEqual(["expiryAlerts.warningDays: must be at most renewBefore (720h) so a healthy certificate never warns"]);
  });

  it("checks solver settings' shapes", () => {
    expect(messages({ ...base, acme: { ...base.acme, dns01: { azuredns: { subscriptionID: "nope" } } } })).toEqual(
      expect.arrayContaining([expect.stringMatching(/^acme\.dns01\.azuredns\.subscriptionID:/), expect.stringMatching(/^acme\.dns01\.azuredns\.tenantID:/)]),
    );
  });
});
