import { beforeAll, describe, expect, it } from "vitest";
import { byName, ofType, type Plan, sharedPlan } from "../../harness.js";
import { loadStack } from "../../../stacks/load.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { planRotation, waveOf } from "../../../model/rotation/plan.js";
import { secretKeys } from "../../../model/secrets.js";

const CR = /^kubernetes:(cert-manager\.io|policy\.cert-manager\.io|spire\.spiffe\.io|security\.istio\.io|networking\.istio\.io)\//;

describe("meridian:pki:CertManager (prod)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await sharedPlan("prod");
  }, 60_000);

  it("installs the pinned chart with CRDs enabled in cert-manager's namespace on every cluster", () => {
    const releases = ofType(plan, "kubernetes:helm.sh/v3:Release").filter((r) => r.name.endsWith("-cert-manager"));
    expect(releases).toHaveLength(6);
    for (const r of releases) {
      expect(r.inputs).toMatchObject({ chart: "cert-manager", namespace: "cert-manager", repositoryOpts: { repo: "https://charts.jetstack.io" } });
      expect((r.inputs["values"] as { crds: unknown }).crds).toEqual({ enabled: true });
    }
  });

  it("the offline root's key is in no cluster: each region gets only its offline-signed intermediate and the root certificate", () => {
    const secret = byName(plan, "kubernetes:core/v1:Secret", "gcp-usc1-meridian-intermediate-gcp-usc1");
    expect(secret.inputs).toMatchObject({
      metadata: { name: "meridian-intermediate-gcp-usc1", namespace: "cert-manager" },
      type: "kubernetes.io/tls",
      stringData: {
        "tls.crt": "<secret credentials-pki-intermediate-gcp-usc1-cert>",
        "tls.key": "<secret credentials-pki-intermediate-gcp-usc1-key>",
        "ca.crt": "<secret credentials-pki-root-ca-cert>",
      },
    });
    expect(byName(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer", "gcp-usc1-meridian-intermediate").inputs["spec"]).toEqual({ ca: { secretName: "meridian-intermediate-gcp-usc1" } });
    // No resource carries a root key, no issuer signs with the root, no Certificate asks cert-manager for a CA.
    const everything = JSON.stringify(plan.resources.map((r) => r.inputs));
    expect(everything).not.toMatch(/root-ca-key|meridian-root-ca/);
    expect(ofType(plan, "kubernetes:cert-manager.io/v1:Certificate").filter((c) => (c.inputs["spec"] as { isCA?: boolean }).isCA)).toEqual([]);
    const spec = buildEstateSpec("prod", loadStack("prod"));
    expect(secretKeys(spec).filter((k) => /root/.test(k))).toEqual(["credentials-pki-root-ca-cert"]);
  });

  it("cert-manager approves nothing itself; approver-policy runs beside it", () => {
    for (const r of ofType(plan, "kubernetes:helm.sh/v3:Release").filter((x) => x.name.endsWith("-cert-manager"))) {
      expect((r.inputs["values"] as { disableAutoApproval: boolean }).disableAutoApproval).toBe(true);
    }
    expect(ofType(plan, "kubernetes:helm.sh/v3:Release").filter((r) => r.name.endsWith("-approver-policy"))).toHaveLength(6);
  });

  it("issues each gateway Certificate from the production ACME issuer with duration from config and its wave's renewBefore", () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    const rotation = planRotation(spec, 0);
    for (const region of spec.regions) {
      const cert = byName(plan, "kubernetes:cert-manager.io/v1:Certificate", `${region.id}-meridian-gateway-tls`);
      expect(cert.inputs["metadata"]).toMatchObject({ name: "meridian-gateway-tls", namespace: "meridian-gateway" });
      expect(cert.inputs["spec"]).toMatchObject({
        secretName: "meridian-gateway-tls",
        dnsNames: ["api.meridian.example.com", `${region.id}.api.meridian.example.com`],
        duration: "2160h",
        renewBefore: waveOf(rotation, region.id).renewBefore,
        issuerRef: { name: "letsencrypt-production", kind: "ClusterIssuer", group: "cert-manager.io" },
      });
    }
    // Canary azure-weu renews a stagger (24h) before wave 1 and two before the rest.
    const renewBefore = (id: string) => (byName(plan, "kubernetes:cert-manager.io/v1:Certificate", `${id}-meridian-gateway-tls`).inputs["spec"] as { renewBefore: string }).renewBefore;
    expect([renewBefore("azure-weu"), renewBefore("azure-sea"), renewBefore("aws-use1")]).toEqual(["768h", "744h", "720h"]);
  });

  it("every custom resource depends on the chart that installs its CRD", () => {
    // Each resource's recorded dependencies: its dependsOn and the resources its inputs came from.
    const { resources } = plan;
    const urnOf = (name: string, type = "kubernetes:helm.sh/v3:Release") => resources.find((r) => r.name === name && r.type === type)!.urn;
    const deps = (type: string, name: string) => byName(plan, type, name).dependencies;
    const crs = resources.filter((r) => CR.test(r.type));
    // 27 from the PKI area, the health aggregator's ClusterSPIFFEID, the gateway's Gateway and VirtualService,
    // the replication monitor's ClusterSPIFFEID and AuthorizationPolicy, and the STRICT PeerAuthentications of the three
    // services that trust their sidecar's XFCC, and the grandmaster's ClusterSPIFFEID and STRICT PeerAuthentication,
    // the multi-cluster mesh's cross-network Gateway, and the gateway's rate-limit EnvoyFilter; the attestation
    // verifier's, the map service's, the global allocator's, the proof log monitor's and the witness's ClusterSPIFFEID,
    // DestinationRule, AuthorizationPolicy and STRICT PeerAuthentication; and the certificate chain's four; and the
    // proof log's STRICT PeerAuthentication (its submitters come from its sidecar's XFCC).
    expect(crs.length).toBe(6 * 65);
    for (const cr of crs) {
      const region = cr.name.split("-").slice(0, 2).join("-");
      const chart = cr.type.includes("policy.cert-manager.io")
        ? `${region}-approver-policy`
        : cr.type.includes("cert-manager.io")
          ? `${region}-cert-manager`
          : cr.type.includes("spire.spiffe.io")
            ? `${region}-spire-crds`
            : `${region}-istio-base`;
      expect(deps(cr.type, cr.name), cr.name).toContain(urnOf(chart));
    }
    // Chart order: spire after its CRDs and cert-manager's intermediate issuer; istiod after SPIRE.
    expect(deps("kubernetes:helm.sh/v3:Release", "aws-use1-spire")).toEqual(
      expect.arrayContaining([
        urnOf("aws-use1-spire-crds"),
        urnOf("aws-use1-meridian-intermediate", "kubernetes:cert-manager.io/v1:ClusterIssuer"),
        urnOf("aws-use1-crp-meridian-spire-ca", "kubernetes:policy.cert-manager.io/v1alpha1:CertificateRequestPolicy"),
      ]),
    );
    expect(deps("kubernetes:helm.sh/v3:Release", "aws-use1-istiod")).toEqual(expect.arrayContaining([urnOf("aws-use1-istio-base"), urnOf("aws-use1-spire")]));
  }, 60_000);
});
