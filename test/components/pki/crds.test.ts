import { beforeAll, describe, expect, it } from "vitest";
import { type Plan, type RecordedResource, sharedPlan } from "../../harness.js";
import { PKI_KINDS, validateCustomResource } from "./schemas.js";

const CR_GROUPS = /^kubernetes:(cert-manager\.io|policy\.cert-manager\.io|security\.istio\.io|networking\.istio\.io|monitoring\.coreos\.com|spire\.spiffe\.io)\//;

function asManifest(r: RecordedResource): { apiVersion: string; kind: string; metadata: unknown; spec: unknown } {
  const { apiVersion, kind, metadata, spec } = r.inputs as { apiVersion: string; kind: string; metadata: unknown; spec: unknown };
  return { apiVersion, kind, metadata, spec };
}

describe("every PKI custom resource in the prod plan validates against its CRD schema", () => {
  let plan: Plan;
  let crs: RecordedResource[];
  beforeAll(async () => {
    plan = await sharedPlan("prod");
    // Only the PKI area's resources: other areas (time's PrometheusRules, ...) validate their own.
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const inPki = (r: RecordedResource): boolean => {
      for (let p = r.parent; p; p = byUrn.get(p)?.parent ?? null) if (byUrn.get(p)?.type.startsWith("meridian:pki:")) return true;
      return false;
    };
    crs = plan.resources.filter((r) => CR_GROUPS.test(r.type) && inPki(r));
  }, 60_000);

  it("covers cert-manager, Istio, Prometheus-operator and SPIRE kinds in every region", () => {
    const kinds = new Set(crs.map((r) => `${(r.inputs as { apiVersion: string }).apiVersion}/${(r.inputs as { kind: string }).kind}`));
    expect([...kinds].sort()).toEqual([...PKI_KINDS].sort());
    // Per region; each runtime service adds 3 (its ClusterSPIFFEID, DestinationRule and AuthorizationPolicy).
    // Plus the operator's and the health aggregator's ClusterSPIFFEIDs, the time namespace's two AuthorizationPolicies,
    // and the replication monitor's ClusterSPIFFEID and AuthorizationPolicy, and a STRICT PeerAuthentication for each
    // of the three services that trust their sidecar's XFCC (ratelimit, clock, quota); the grandmaster's ClusterSPIFFEID and
    // STRICT PeerAuthentication (it trusts its sidecar's XFCC too); the multi-cluster mesh's cross-network Gateway; the
    // attestation verifier's three and its STRICT PeerAuthentication (it trusts its sidecar's XFCC for revocations); the
    // map service's three and its STRICT PeerAuthentication (its writer is quota's SPIFFE ID, from the XFCC).
    // … and the global allocator's, the proof log monitor's and the witness's ClusterSPIFFEID, DestinationRule,
    // AuthorizationPolicy and STRICT PeerAuthentication; and the certificate chain's four; and the proof log's STRICT
    // PeerAuthentication (its submitters come from its sidecar's XFCC).
    expect(crs.length).toBe(6 * 63);
  });

  it("validates each one", () => {
    const failures: string[] = [];
    for (const r of crs) {
      try {
        validateCustomResource(asManifest(r));
      } catch (err) {
        failures.push(`${r.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("the validators reject a broken resource of each kind (they can fail)", () => {
    const firstOf = (kind: string) => asManifest(crs.find((r) => (r.inputs as { kind: string }).kind === kind)!);
    const broken = [
      { ...firstOf("Certificate"), spec: { ...(firstOf("Certificate").spec as object), privateKey: { algorithm: "DSA" } } },
      { ...firstOf("ClusterIssuer"), spec: { acme: { server: "https://x" } } },
      { ...firstOf("PeerAuthentication"), spec: { mtls: { mode: "STRICTEST" } } },
      { ...firstOf("DestinationRule"), spec: { host: "x", trafficPolicy: { tls: { mode: "ISTIO_MUTUALLY" } } } },
      { ...firstOf("AuthorizationPolicy"), spec: { action: "PERMIT" } },
      { ...firstOf("Gateway"), spec: { selector: { istio: "eastwestgateway" }, servers: [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "PASSTHROUGH" }, hosts: "*.local" }] } },
      { ...firstOf("PrometheusRule"), spec: { groups: [{ name: "g", rules: [{ alert: "A" }] }] } },
      { ...firstOf("ClusterSPIFFEID"), spec: { spiffeIdTemplate: "typo" } },
      { ...firstOf("CertificateRequestPolicy"), spec: { ...(firstOf("CertificateRequestPolicy").spec as object), allowed: { isCa: true } } },
      { ...firstOf("CertificateRequestPolicy"), spec: { allowed: { isCA: true } } },
    ];
    for (const b of broken) expect(() => validateCustomResource(b), b.kind).toThrow();
  });
});
