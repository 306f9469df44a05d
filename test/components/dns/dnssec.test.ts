/**
 * DNSSEC across the hierarchy (#21): the prod plan's zones carry the same DNSSEC setting on every provider; a
 * signed multi-provider hierarchy is refused because Route 53, Cloud DNS and Azure DNS cannot import another
 * signer's DNSKEY (RFC 8901); a single-provider zone signs on each provider, with the DS records the parent needs.
 */
import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planWithDns } from "./plans.js";

type Setting = "signed" | "unsigned";

/** Each provider's DNSSEC setting as rendered in the plan. */
function dnssecSettings(plan: Plan): Record<string, Setting> {
  const out: Record<string, Setting> = {};
  if (ofType(plan, "aws:route53/zone:Zone").length > 0) {
    const signing = ofType(plan, "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec").some((r) => r.inputs["signingStatus"] === "SIGNING");
    out["route53"] = signing && ofType(plan, "aws:route53/keySigningKey:KeySigningKey").length > 0 ? "signed" : "unsigned";
  }
  for (const zone of ofType(plan, "gcp:dns/managedZone:ManagedZone")) {
    out["clouddns"] = (zone.inputs["dnssecConfig"] as { state?: string } | undefined)?.state === "on" ? "signed" : "unsigned";
  }
  if (ofType(plan, "azure-native:dns:Zone").length > 0) out["trafficmanager"] = ofType(plan, "azure-native:dns:DnssecConfig").length > 0 ? "signed" : "unsigned";
  if (ofType(plan, "cloudflare:index/zone:Zone").length > 0) {
    out["cloudflare"] = ofType(plan, "cloudflare:index/zoneDnssec:ZoneDnssec").some((r) => r.inputs["status"] === "active") ? "signed" : "unsigned";
  }
  return out;
}

const traffic = (plan: Plan) => plan.outputs["traffic"] as { ds: Record<string, string[]>; dnssec: boolean };
const DS = /^\d{1,5} 13 2 [0-9A-F]{64}$/;

describe("DNSSEC across providers", () => {
  it("the prod plan's zones on every provider carry the same DNSSEC setting (unsigned: its providers cannot share signing)", async () => {
    const plan = await planWithDns({});
    expect(dnssecSettings(plan)).toEqual({ route53: "unsigned", clouddns: "unsigned", trafficmanager: "unsigned", cloudflare: "unsigned" });
    expect(traffic(plan)).toMatchObject({ dnssec: false, ds: {} });
    // Cloud DNS writes its "off" out, so a zone signed by hand would be turned back.
    expect(byName(plan, "gcp:dns/managedZone:ManagedZone", "clouddns-zone").inputs["dnssecConfig"]).toEqual({ state: "off" });
  });

  it("signing the prod hierarchy is refused: DNSSEC with multiple signing providers, naming those that cannot import a DNSKEY", async () => {
    await expect(planWithDns({ dnssec: { signing: true } })).rejects.toThrow(
      /DNSSEC with multiple signing providers \(route53, clouddns, cloudflare, trafficmanager\) needs RFC 8901 multi-signer.*but route53 \(providers\.primary\), clouddns \(providers\.secondary\), trafficmanager \(providers\.standbys\.0\) cannot import another signer's DNSKEY/,
    );
  });

  it("Route 53 signs a single-provider zone with a KSK on a customer managed ECC_NIST_P256 KMS key in us-east-1", async () => {
    const plan = await planWithDns({ providers: { primary: "route53" }, dnssec: { signing: true } });
    expect(dnssecSettings(plan)).toEqual({ route53: "signed" });
    const key = byName(plan, "aws:kms/key:Key", "route53-ksk-key");
    expect(key.inputs).toMatchObject({ customerMasterKeySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY", region: "us-east-1" });
    const policy = JSON.parse(String(key.inputs["policy"])) as { Statement: { Principal: { Service?: string }; Action: string | string[] }[] };
    expect(policy.Statement.filter((s) => s.Principal.Service === "dnssec-route53.amazonaws.com").flatMap((s) => s.Action)).toEqual([
      "kms:DescribeKey",
      "kms:GetPublicKey",
      "kms:Sign",
      "kms:CreateGrant",
    ]);
    const ksk = byName(plan, "aws:route53/keySigningKey:KeySigningKey", "route53-ksk");
    expect(ksk.dependencies).toContain(key.urn);
    expect(byName(plan, "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec", "route53-dnssec").dependencies).toContain(ksk.urn);
    expect(traffic(plan).ds["route53"]).toEqual([expect.stringMatching(DS)]);
  });

  it("a Route 53 KSK rollover holds two generations, each on its own KMS key, both DS records reported; elsewhere refused", async () => {
    const plan = await planWithDns({ providers: { primary: "route53" }, dnssec: { signing: true, keySigningKeys: [1, 2] } });
    expect(ofType(plan, "aws:route53/keySigningKey:KeySigningKey").map((k) => k.inputs["name"])).toEqual(["prod_ksk_1", "prod_ksk_2"]);
    expect(ofType(plan, "aws:kms/key:Key")).toHaveLength(2);
    const ds = traffic(plan).ds["route53"]!;
    expect(ds).toHaveLength(2);
    expect(new Set(ds).size).toBe(2);
    await expect(planWithDns({ providers: { primary: "clouddns" }, dnssec: { signing: true, keySigningKeys: [1, 2] } })).rejects.toThrow(
      /only Route 53's key-signing keys are Meridian's to roll; clouddns \(providers\.primary\) manage their own/,
    );
  });

  it.each([
    ["clouddns", "clouddns"],
    ["trafficmanager", "trafficmanager"],
    ["cloudflare", "cloudflare"],
  ])("%s signs a single-provider zone and reports its DS record", async (provider) => {
    const plan = await planWithDns({ providers: { primary: provider }, routing: "geo", dnssec: { signing: true } });
    expect(dnssecSettings(plan)).toEqual({ [provider]: "signed" });
    expect(traffic(plan).ds).toEqual({ [provider]: [expect.stringMatching(DS)] });
    if (provider === "clouddns") {
      expect(byName(plan, "gcp:dns/managedZone:ManagedZone", "clouddns-zone").inputs["dnssecConfig"]).toMatchObject({
        state: "on",
        defaultKeySpecs: [
          { keyType: "keySigning", algorithm: "ecdsap256sha256" },
          { keyType: "zoneSigning", algorithm: "ecdsap256sha256" },
        ],
      });
    }
  });
});
