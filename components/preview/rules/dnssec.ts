/**
 * DNSSEC rules: what Route 53, Cloud DNS and Cloudflare refuse when a zone is signed. Route 53's key-signing key
 * stands on a KMS key with a documented shape (asymmetric ECC_NIST_P256 for SIGN_VERIFY, in us-east-1, a key
 * policy that lets the Route 53 DNSSEC service use it) and signing needs an active KSK first. Messages are the
 * Route 53 API errors (CreateKeySigningKey: InvalidKMSArn, EnableHostedZoneDNSSEC:
 * KeySigningKeyWithActiveStatusNotFound) with what is wrong appended, and the SDKs' doc comments elsewhere.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, bridgeProblem, inputs, known, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const KEY = "aws:kms/key:Key";
const KSK = "aws:route53/keySigningKey:KeySigningKey";
const HOSTED_ZONE_DNSSEC = "aws:route53/hostedZoneDnsSec:HostedZoneDnsSec";
const MANAGED_ZONE = "gcp:dns/managedZone:ManagedZone";
const CF_RECORD = "cloudflare:index/dnsRecord:DnsRecord";
const CF_DNSSEC = "cloudflare:index/zoneDnssec:ZoneDnssec";
const KMS_REQUIREMENTS = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-configuring-dnssec-cmk-requirements.html";
const INVALID_KMS_ARN = "InvalidKMSArn: The KeyManagementServiceArn that you specified isn't valid to use with DNSSEC signing.";
const SERVICE = "dnssec-route53.amazonaws.com";
const SERVICE_ACTIONS = ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"];

/** The KMS key a KSK names, when the plan creates it (an input that came from it, or its stand-in ARN). */
function kmsKeyOf(ksk: RecordedResource, plan: PlanView): RecordedResource | undefined {
  const arn = str(inputs(ksk)["keyManagementServiceArn"]);
  return plan.ofType(KEY).find((k) => ksk.dependencies.includes(k.urn) || (arn !== undefined && arn.endsWith(`:${k.name}`)));
}

/** Actions the key policy grants the Route 53 DNSSEC service principal (undefined when the policy is not known). */
function serviceActions(policy: unknown): Set<string> | undefined {
  const text = str(policy);
  if (text === undefined) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return new Set();
  }
  const granted = new Set<string>();
  for (const s of arr(obj(doc)["Statement"])) {
    const st = obj(s);
    const services = [obj(st["Principal"])["Service"]].flat();
    if (st["Effect"] !== "Allow" || !services.includes(SERVICE)) continue;
    for (const a of [st["Action"]].flat()) if (typeof a === "string") granted.add(a === "kms:*" ? "*" : a);
  }
  return granted;
}

export const dnssecRules: ProviderRule[] = [
  {
    id: "aws-route53-ksk-kms-key",
    provider: "aws",
    types: [KSK],
    summary:
      "A Route 53 key-signing key's KMS key is customer managed, asymmetric ECC_NIST_P256 with key usage SIGN_VERIFY, in us-east-1, and its key policy lets dnssec-route53.amazonaws.com DescribeKey, GetPublicKey and Sign",
    source: `${KMS_REQUIREMENTS}; https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateKeySigningKey.html (InvalidKMSArn)`,
    check(r, plan) {
      const key = kmsKeyOf(r, plan);
      if (key === undefined) return [];
      const k = inputs(key);
      const why: string[] = [];
      const spec = k["customerMasterKeySpec"] ?? "SYMMETRIC_DEFAULT";
      if (known(spec) && spec !== "ECC_NIST_P256") why.push(`key ${key.name} is ${String(spec)}, not ECC_NIST_P256`);
      const usage = k["keyUsage"] ?? "ENCRYPT_DECRYPT";
      if (known(usage) && usage !== "SIGN_VERIFY") why.push(`key ${key.name} has key usage ${String(usage)}, not SIGN_VERIFY`);
      const region = str(k["region"]);
      if (region !== undefined && region !== "us-east-1") why.push(`key ${key.name} is in ${region}; Route 53 reads KSK keys only in us-east-1`);
      const granted = serviceActions(k["policy"]);
      const missing = granted === undefined || granted.has("*") ? [] : SERVICE_ACTIONS.filter((a) => !granted.has(a));
      if (k["policy"] !== undefined && known(k["policy"]) && missing.length > 0) why.push(`key ${key.name}'s policy does not allow ${SERVICE} ${missing.join(", ")}`);
      return why.map((w) => `${INVALID_KMS_ARN} (${w})`);
    },
  },
  {
    id: "aws-route53-ksk-name",
    provider: "aws",
    types: [KSK],
    summary: "A key-signing key's name is 3-128 letters, digits and underscores",
    source: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateKeySigningKey.html (Name: numbers, letters, and underscores; length 3-128)",
    check(r) {
      const name = str(inputs(r)["name"]);
      if (name === undefined || /^[A-Za-z0-9_]{3,128}$/.test(name)) return [];
      return [bridgeProblem(r, "name", `"name" (${name}) must be 3-128 characters: numbers, letters and underscores (_)`)];
    },
  },
  {
    id: "aws-route53-dnssec-after-ksk",
    provider: "aws",
    types: [HOSTED_ZONE_DNSSEC],
    summary: "Signing a hosted zone (HostedZoneDnsSec SIGNING) needs an ACTIVE key-signing key of that zone first (dependsOn it)",
    source:
      "https://docs.aws.amazon.com/Route53/latest/APIReference/API_EnableHostedZoneDNSSEC.html (KeySigningKeyWithActiveStatusNotFound); https://www.pulumi.com/registry/packages/aws/api-docs/route53/hostedzonednssec/ (dependsOn the KeySigningKey)",
    check(r, plan) {
      const p = inputs(r);
      if ((p["signingStatus"] ?? "SIGNING") !== "SIGNING") return [];
      const zone = p["hostedZoneId"];
      const active = plan.ofType(KSK).filter((k) => inputs(k)["hostedZoneId"] === zone && (inputs(k)["status"] ?? "ACTIVE") === "ACTIVE");
      if (active.some((k) => plan.dependsOn(r, k))) return [];
      return ["KeySigningKeyWithActiveStatusNotFound: A key-signing key (KSK) with ACTIVE status wasn't found."];
    },
  },
  {
    id: "gcp-dns-dnssec-key-specs",
    provider: "gcp",
    types: [MANAGED_ZONE],
    summary: "A signed managed zone's defaultKeySpecs name a keySigning and a zoneSigning key together, or neither",
    source: "https://github.com/pulumi/pulumi-gcp/blob/master/sdk/nodejs/types/input.ts (ManagedZoneDnssecConfig.defaultKeySpecs)",
    check(r) {
      const specs = arr(obj(inputs(r)["dnssecConfig"])["defaultKeySpecs"]).map((s) => obj(s)["keyType"]);
      if (specs.length === 0 || (specs.includes("keySigning") && specs.includes("zoneSigning"))) return [];
      return ["googleapi: Error 400: If you provide a spec for keySigning or zoneSigning, you must also provide one for the other., invalid"];
    },
  },
  {
    id: "cloudflare-dnskey-multi-signer",
    provider: "cloudflare",
    types: [CF_RECORD],
    summary: "A DNSKEY record (another signer's key) is added only to a zone whose DNSSEC has dnssecMultiSigner on",
    source: "https://developers.cloudflare.com/api/terraform/resources/dns/subresources/dnssec (dnssec_multi_signer: required for DNSKEY records to be added)",
    check(r, plan) {
      const p = inputs(r);
      if (p["type"] !== "DNSKEY") return [];
      const multi = plan.ofType(CF_DNSSEC).some((d) => inputs(d)["zoneId"] === p["zoneId"] && inputs(d)["dnssecMultiSigner"] === true);
      return multi ? [] : ["DNSKEY records (except those automatically generated by Cloudflare) can be added only with multi-signer DNSSEC enabled on the zone (dnssec_multi_signer)"];
    },
  },
];
