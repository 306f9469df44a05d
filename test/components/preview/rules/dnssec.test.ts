import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as gcp from "@pulumi/gcp";
import { kskKeyPolicy } from "../../../../components/dns/route53.js";
import { messages, refusals } from "./refuse.js";

const goodKey = { customerMasterKeySpec: "ECC_NIST_P256", keyUsage: "SIGN_VERIFY", region: "us-east-1", policy: kskKeyPolicy("123456789012") };

/** A hosted zone signed with a KSK on a KMS key of the given shape. */
function signedZone(key: aws.kms.KeyArgs, kskName = "prod_ksk_1", ordered = true): void {
  const zone = new aws.route53.Zone("zone", { name: "example.com" });
  const k = new aws.kms.Key("ksk-key", key);
  const ksk = new aws.route53.KeySigningKey("ksk", { hostedZoneId: zone.id, keyManagementServiceArn: k.arn, name: kskName });
  new aws.route53.HostedZoneDnsSec("dnssec", { hostedZoneId: zone.id }, ordered ? { dependsOn: [ksk] } : {});
}

describe("DNSSEC provider rules", () => {
  it("a KSK on a customer managed ECC_NIST_P256 SIGN_VERIFY key in us-east-1, signing after it, passes", async () => {
    expect(await refusals(() => signedZone(goodKey))).toEqual([]);
  });

  it("aws-route53-ksk-kms-key: a symmetric key, an ENCRYPT_DECRYPT key, a key outside us-east-1, a policy without the DNSSEC service", async () => {
    const v = await refusals(() => signedZone({ region: "eu-west-1", policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) }));
    expect(messages(v, "aws-route53-ksk-kms-key")).toEqual([
      "InvalidKMSArn: The KeyManagementServiceArn that you specified isn't valid to use with DNSSEC signing. (key ksk-key is SYMMETRIC_DEFAULT, not ECC_NIST_P256)",
      "InvalidKMSArn: The KeyManagementServiceArn that you specified isn't valid to use with DNSSEC signing. (key ksk-key has key usage ENCRYPT_DECRYPT, not SIGN_VERIFY)",
      "InvalidKMSArn: The KeyManagementServiceArn that you specified isn't valid to use with DNSSEC signing. (key ksk-key is in eu-west-1; Route 53 reads KSK keys only in us-east-1)",
      "InvalidKMSArn: The KeyManagementServiceArn that you specified isn't valid to use with DNSSEC signing. (key ksk-key's policy does not allow dnssec-route53.amazonaws.com kms:DescribeKey, kms:GetPublicKey, kms:Sign)",
    ]);
  });

  it("aws-route53-ksk-name: a name with hyphens", async () => {
    const v = await refusals(() => signedZone(goodKey, "prod-ksk-1"));
    expect(messages(v, "aws-route53-ksk-name")).toEqual([
      "aws:route53/keySigningKey:KeySigningKey resource 'ksk' has a problem: \"name\" (prod-ksk-1) must be 3-128 characters: numbers, letters and underscores (_). Examine values at 'ksk.name'.",
    ]);
  });

  it("aws-route53-dnssec-after-ksk: signing that does not wait for the KSK, or a zone with no KSK", async () => {
    const v = await refusals(() => {
      signedZone(goodKey, "prod_ksk_1", false);
      const bare = new aws.route53.Zone("bare", { name: "example.net" });
      new aws.route53.HostedZoneDnsSec("bare-dnssec", { hostedZoneId: bare.id, signingStatus: "SIGNING" });
    });
    expect(v.filter((x) => x.rule === "aws-route53-dnssec-after-ksk").map((x) => [x.name, x.message])).toEqual([
      ["dnssec", "KeySigningKeyWithActiveStatusNotFound: A key-signing key (KSK) with ACTIVE status wasn't found."],
      ["bare-dnssec", "KeySigningKeyWithActiveStatusNotFound: A key-signing key (KSK) with ACTIVE status wasn't found."],
    ]);
  });

  it("gcp-dns-dnssec-key-specs: a key-signing key spec without a zone-signing one", async () => {
    const v = await refusals(() => {
      new gcp.dns.ManagedZone("zone", {
        name: "z",
        dnsName: "example.com.",
        dnssecConfig: { state: "on", defaultKeySpecs: [{ keyType: "keySigning", algorithm: "ecdsap256sha256", keyLength: 256 }] },
      });
    });
    expect(messages(v, "gcp-dns-dnssec-key-specs")).toEqual(["googleapi: Error 400: If you provide a spec for keySigning or zoneSigning, you must also provide one for the other., invalid"]);
  });

  it("cloudflare-dnskey-multi-signer: another signer's DNSKEY on a zone without multi-signer DNSSEC", async () => {
    const dnskey = {
      name: "example.com",
      type: "DNSKEY",
      ttl: 3600,
      data: { flags: 256, protocol: 3, algorithm: 13, publicKey: "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==" },
    };
    const v = await refusals(() => {
      const single = new cloudflare.Zone("single", { account: { id: "0123456789abcdef0123456789abcdef" }, name: "example.com" });
      new cloudflare.ZoneDnssec("single-dnssec", { zoneId: single.id, status: "active" });
      new cloudflare.DnsRecord("foreign-zsk", { zoneId: single.id, ...dnskey });
      const multi = new cloudflare.Zone("multi", { account: { id: "0123456789abcdef0123456789abcdef" }, name: "example.org" });
      new cloudflare.ZoneDnssec("multi-dnssec", { zoneId: multi.id, status: "active", dnssecMultiSigner: true });
      new cloudflare.DnsRecord("shared-zsk", { zoneId: multi.id, ...dnskey, name: "example.org" });
    });
    expect(v.filter((x) => x.rule === "cloudflare-dnskey-multi-signer").map((x) => x.name)).toEqual(["foreign-zsk"]);
  });
});
