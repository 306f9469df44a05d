/**
 * DNSSEC across the hierarchy. Every provider of a Meridian hierarchy is written by `pulumi up` as a primary
 * (no zone transfer between them: Route 53, Cloud DNS and Azure DNS serve no outbound AXFR), so a signed
 * hierarchy of several providers is the RFC 8901 multi-signer model 2: each provider signs with its own keys
 * and must publish every other provider's ZSK in its DNSKEY RRset, or a resolver holding one provider's
 * DNSKEY RRset cannot validate another provider's signatures. Only a provider that can import a foreign
 * DNSKEY can take part; a signed hierarchy where one cannot is refused, naming it. A hierarchy where only
 * some providers sign is refused too: once the parent has a DS, an unsigned provider's answers are bogus.
 */
import type { DnsProvider, TrafficConfig } from "../config/traffic.js";
import { ZoneInputError } from "./zonefile.js";

export interface DnssecCapability {
  /** The provider signs a zone it serves (online signing, keys it manages). */
  signs: boolean;
  /** The provider publishes another signer's DNSKEY (RFC 8901 model 2), so it can share a signed zone. */
  multiSigner: boolean;
  /** How Meridian turns signing on there, in the provider's words. */
  how: string;
  /** Where the two answers come from. */
  source: string;
}

/** ECDSA P-256 with SHA-256 (DNSSEC algorithm 13): every signing provider here uses it, and DS digests are SHA-256 (type 2). */
const DNSSEC_ALGORITHM = 13;
export const DS_DIGEST_TYPE = 2;

export const DNSSEC: Record<DnsProvider, DnssecCapability> = {
  route53: {
    signs: true,
    multiSigner: false,
    how: "a key-signing key (aws.route53.KeySigningKey) backed by a customer managed KMS key (ECC_NIST_P256, SIGN_VERIFY, us-east-1), then HostedZoneDnsSec SIGNING; Route 53 manages the ZSK",
    source:
      "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-configuring-dnssec-cmk-requirements.html; DNSKEY is not a Route 53 record type: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html",
  },
  clouddns: {
    signs: true,
    multiSigner: false,
    how: 'managed zone dnssecConfig state "on" with ECDSAP256SHA256 key-signing and zone-signing keys; Cloud DNS rotates the ZSK itself',
    source:
      'https://cloud.google.com/dns/docs/dnssec-config; foreign DNSKEYs only in the "transfer" state, for moving a signed zone in or out (RFC 6781), not steady-state multi-signing: https://cloud.google.com/sdk/gcloud/reference/dns/managed-zones/create',
  },
  trafficmanager: {
    signs: true,
    multiSigner: false,
    how: "a DnssecConfig on the Azure DNS zone (API 2023-07-01-preview); Azure manages both keys",
    source: "@pulumi/azure-native dns.DnssecConfig (no key input); DNSKEY is not an Azure DNS record type: https://learn.microsoft.com/azure/dns/dns-zones-records#record-types",
  },
  cloudflare: {
    signs: true,
    multiSigner: true,
    how: 'ZoneDnssec status "active" (dnssecMultiSigner when other signers share the zone: their ZSKs are added as DNSKEY records)',
    source: "https://developers.cloudflare.com/dns/dnssec/multi-signer-dnssec/setup/",
  },
  local: {
    signs: false,
    multiSigner: false,
    how: "the loopback resolver answers unsigned",
    source: "runtime/local",
  },
};

export interface DnssecProblem {
  path: (string | number)[];
  message: string;
}

/** Why this hierarchy cannot serve the zone signed (empty when it can, or when signing is off). */
export function dnssecProblems(chain: readonly DnsProvider[], dns: Pick<TrafficConfig, "dnssec">, where: (p: DnsProvider) => string): DnssecProblem[] {
  if (!dns.dnssec.signing) return [];
  if (dns.dnssec.keySigningKeys.length > 1 && !chain.includes("route53")) {
    return [{ path: ["dnssec", "keySigningKeys"], message: `only Route 53's key-signing keys are Meridian's to roll; ${chain.map(where).join(", ")} manage their own` }];
  }
  const unsigned = chain.filter((p) => !DNSSEC[p].signs);
  if (unsigned.length > 0) {
    return [
      {
        path: ["dnssec", "signing"],
        message: `DNSSEC: ${unsigned.map(where).join(", ")} cannot sign the zone, and once the parent holds a DS record an unsigned provider's answers fail validation; sign only a hierarchy whose every provider signs`,
      },
    ];
  }
  if (chain.length < 2) return [];
  const cannot = chain.filter((p) => !DNSSEC[p].multiSigner);
  if (cannot.length === 0) return [];
  return [
    {
      path: ["dnssec", "signing"],
      message:
        `DNSSEC with multiple signing providers (${chain.join(", ")}) needs RFC 8901 multi-signer: each provider publishes the others' ZSKs in its DNSKEY RRset, ` +
        `but ${cannot.map(where).join(", ")} cannot import another signer's DNSKEY. Sign a single-provider zone, or serve this hierarchy unsigned (see docs/dns.md#dnssec)`,
    },
  ];
}

/**
 * A DS record as the parent takes it (`<key tag> <algorithm> <digest type> <digest>`), from however a provider
 * reports it: Route 53 and Cloud DNS give that rdata, Cloudflare and Azure the whole record (`name ttl IN DS …`).
 */
export function dsRdata(text: string): string {
  const f = text.trim().split(/\s+/);
  if (f.length < 4) throw new Error(`not a DS record: ${JSON.stringify(text)}`);
  const [tag, alg, digestType, digest] = f.slice(-4) as [string, string, string, string];
  if (!/^\d+$/.test(tag) || !/^\d+$/.test(alg) || !/^\d+$/.test(digestType) || !/^[0-9a-f]+$/i.test(digest)) throw new Error(`not a DS record: ${JSON.stringify(text)}`);
  return `${Number(tag)} ${Number(alg)} ${Number(digestType)} ${digest.toUpperCase()}`;
}

/**
 * The DS records a signed stack's parent needs, from its outputs (`pulumi stack output --json`, or just the traffic
 * area's object): every signing provider must report at least one, each a SHA-256 DS of an algorithm-13 key.
 */
export function parentDsRecords(outputs: unknown, signers: readonly DnsProvider[], source: string): { provider: DnsProvider; rdata: string }[] {
  const root = (outputs ?? {}) as Record<string, unknown>;
  const traffic = (typeof root["traffic"] === "object" && root["traffic"] !== null ? root["traffic"] : root) as Record<string, unknown>;
  const ds = traffic["ds"];
  if (ds === null || typeof ds !== "object" || Array.isArray(ds))
    throw new ZoneInputError(`${source}: no traffic.ds object (the stack's outputs after \`pulumi up\` with meridian:dns.dnssec.signing on)`);
  const out: { provider: DnsProvider; rdata: string }[] = [];
  for (const provider of signers) {
    const values = (ds as Record<string, unknown>)[provider];
    if (!Array.isArray(values) || values.length === 0) throw new ZoneInputError(`${source}: traffic.ds.${provider}: no DS record for ${provider}, which signs the zone`);
    for (const [i, v] of values.entries()) {
      let rdata: string;
      try {
        rdata = dsRdata(String(v));
      } catch {
        throw new ZoneInputError(`${source}: traffic.ds.${provider}[${i}]: ${JSON.stringify(v)} is not a DS record (<key tag> <algorithm> <digest type> <digest>)`);
      }
      const [, alg, type, digest] = rdata.split(" ");
      if (Number(alg) !== DNSSEC_ALGORITHM || Number(type) !== DS_DIGEST_TYPE || digest!.length !== 64) {
        throw new ZoneInputError(`${source}: traffic.ds.${provider}[${i}]: ${rdata} is not a SHA-256 DS (digest type 2, 64 hex digits) of an algorithm-13 key`);
      }
      out.push({ provider, rdata });
    }
  }
  return out;
}
