import { beforeAll, describe, expect, it } from "vitest";
import { byName, evaluateStack, ofType, type Plan, sharedPlan } from "../../harness.js";
import {
  GATEWAY_IDENTITY,
  GATEWAY_POD_SELECTOR,
  OPERATOR_IDENTITY,
  OPERATOR_POD_SELECTOR,
  RUNTIME_SERVICES,
  podSelector,
  regionIdentity,
  spiffeId,
  type WorkloadIdentity,
} from "../../../model/services.js";
import { HEALTH_IDENTITY, HEALTH_POD_SELECTOR, REPLICATION_MONITOR_IDENTITY, REPLICATION_MONITOR_POD_SELECTOR } from "../../../model/workloads/gateway.js";
import { clusterSpiffeIdSchema } from "./schemas.js";

/** What the controller manager does with a template for a matching pod (the three fields Meridian uses). */
function renderTemplate(template: string, trustDomain: string, pod: WorkloadIdentity): string {
  return template.replace("{{ .TrustDomain }}", trustDomain).replace("{{ .PodMeta.Namespace }}", pod.namespace).replace("{{ .PodSpec.ServiceAccountName }}", pod.serviceAccount);
}

describe("meridian:pki:Spire (prod)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await sharedPlan("prod");
  }, 60_000);

  it("installs spire-crds, then spire, with one trust domain, the region as cluster name and cert-manager upstream", () => {
    for (const region of plan.outputs["regions"] as string[]) {
      const crds = byName(plan, "kubernetes:helm.sh/v3:Release", `${region}-spire-crds`);
      expect(crds.inputs).toMatchObject({ chart: "spire-crds", namespace: "spire-system", repositoryOpts: { repo: "https://spiffe.github.io/helm-charts-hardened/" } });
      const values = byName(plan, "kubernetes:helm.sh/v3:Release", `${region}-spire`).inputs["values"] as Record<string, Record<string, unknown>>;
      expect(values["global"]).toMatchObject({ spire: { trustDomain: "prod.meridian.internal", clusterName: region } });
      expect(values["spire-server"]).toMatchObject({
        defaultX509SvidTTL: "1h",
        upstreamAuthority: { certManager: { enabled: true, issuerName: "meridian-intermediate", issuerKind: "ClusterIssuer", issuerGroup: "cert-manager.io", namespace: "spire-system" } },
        federation: { enabled: false },
        controllerManager: { enabled: true, identities: { clusterSPIFFEIDs: { default: { enabled: false } } } },
      });
      // The OIDC discovery provider (JWT-SVID keys, unused: X.509-SVIDs only) does not run.
      expect(values["spiffe-oidc-discovery-provider"]).toEqual({ enabled: false });
    }
  });

  it("the upstream authority is a ClusterIssuer this region's plan creates, and SPIRE and istiod share the trust domain", () => {
    for (const region of plan.outputs["regions"] as string[]) {
      const values = byName(plan, "kubernetes:helm.sh/v3:Release", `${region}-spire`).inputs["values"] as Record<string, Record<string, Record<string, unknown>>>;
      const upstream = values["spire-server"]!["upstreamAuthority"] as { certManager: { issuerName: string; issuerKind: string; issuer_name?: unknown } };
      expect(upstream.certManager.issuer_name).toBeUndefined();
      expect(upstream.certManager.issuerKind).toBe("ClusterIssuer");
      const issuer = byName(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer", `${region}-${upstream.certManager.issuerName}`);
      expect((issuer.inputs["metadata"] as { name: string }).name).toBe(upstream.certManager.issuerName);
      expect(issuer.inputs["spec"]).toHaveProperty("ca");
      const istiod = byName(plan, "kubernetes:helm.sh/v3:Release", `${region}-istiod`).inputs["values"] as { meshConfig: { trustDomain: string } };
      expect(istiod.meshConfig.trustDomain).toBe((values["global"]!["spire"] as { trustDomain: string }).trustDomain);
    }
  });

  it("registers one ClusterSPIFFEID per runtime service, the gateway, its health aggregator, the operator, the replication monitor and the grandmaster, yielding the catalogue's SPIFFE IDs", () => {
    const ids = ofType(plan, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID").filter((r) => r.name.startsWith("aws-use1-"));
    const workloads = [
      { name: "gateway", identity: GATEWAY_IDENTITY, selector: GATEWAY_POD_SELECTOR },
      { name: "operator", identity: OPERATOR_IDENTITY, selector: OPERATOR_POD_SELECTOR },
      { name: "health", identity: HEALTH_IDENTITY, selector: HEALTH_POD_SELECTOR },
      { name: "replication-monitor", identity: REPLICATION_MONITOR_IDENTITY, selector: REPLICATION_MONITOR_POD_SELECTOR },
      ...RUNTIME_SERVICES.map((s) => ({ name: s.name, identity: regionIdentity(s, "aws-use1"), selector: podSelector(s) })),
      { name: "grandmaster", identity: { namespace: "meridian-time", serviceAccount: "grandmaster" }, selector: { app: "grandmaster" } },
    ];
    expect(ids.map((r) => r.name).sort()).toEqual(workloads.map((w) => `aws-use1-spiffeid-${w.name}`).sort());
    for (const w of workloads) {
      const cr = clusterSpiffeIdSchema.parse(byName(plan, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID", `aws-use1-spiffeid-${w.name}`).inputs);
      expect(cr.spec.podSelector?.matchLabels).toEqual(w.selector);
      expect(cr.spec.namespaceSelector?.matchLabels).toEqual({ "kubernetes.io/metadata.name": w.identity.namespace });
      expect(cr.spec.workloadSelectorTemplates).toEqual([`k8s:sa:${w.identity.serviceAccount}`]);
      expect(cr.spec.ttl).toBe("1h");
      expect(renderTemplate(cr.spec.spiffeIDTemplate, "prod.meridian.internal", w.identity)).toBe(spiffeId("prod.meridian.internal", w.identity));
    }
    expect(renderTemplate(clusterSpiffeIdSchema.parse(ids[1]!.inputs).spec.spiffeIDTemplate, "prod.meridian.internal", { namespace: "meridian", serviceAccount: "escrow" })).toBe(
      "spiffe://prod.meridian.internal/ns/meridian/sa/escrow",
    );
  });

  it("uses each stack's own trust domain and SVID TTL", async () => {
    const dev = await evaluateStack("dev", { areas: ["pki"] });
    const values = ofType(dev, "kubernetes:helm.sh/v3:Release").find((r) => r.name.endsWith("-spire"))!.inputs["values"] as Record<string, Record<string, unknown>>;
    expect((values["global"] as { spire: { trustDomain: string } }).spire.trustDomain).toBe("dev.meridian.internal");
  }, 30_000);
});
