// Tenants' quotas deployed, under the mocked plan of a one-region dev estate: each tenant's namespace with a
// ResourceQuota and LimitRange on the region's cluster carrying the tenant's numbers in Kubernetes units, and
// the quota service's Deployment whose config file the real runtime/quota schema accepts, with the same
// numbers in its tree; a tenant with a bandwidth quota gets its EnvoyFilter there too, after Istio's CRDs and
// valid by the EnvoyFilter CRD's schema. Without tenants, nothing is rendered and the quota service stays at zero.
import { beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { buildQuotaTree } from "../../../runtime/quota/config.js";
import { quotaServiceConfig } from "../../../runtime/quota/service.js";
import { evaluateStack, ofType, under, type Plan, type RecordedResource } from "../../harness.js";
import { validateCustomResource } from "../pki/schemas.js";

const REGION = {
  id: "gcp-usc1",
  cloud: "gcp",
  region: "us-central1",
  continent: "north-america",
  location: { lat: 41.3, lon: -95.9 },
  demand: { history: [1000, 1200], currentLoad: 0.1 },
  capacity: 500,
};
const ONE_REGION = {
  "meridian:regions": [REGION],
  "meridian:dns": {
    apex: "dev.meridian.example.com",
    providers: { primary: "clouddns" },
    routing: "weighted",
    ttlSeconds: 30,
    healthCheck: { protocol: "HTTPS", port: 443, intervalSeconds: 30, timeoutSeconds: 5, failureThreshold: 2 },
    weights: { "gcp-usc1": 100 },
    monthlyQueriesMillions: 1,
  },
  "meridian:replication": { topology: "star", writers: ["gcp-usc1"], writeGBPerMonth: { "gcp-usc1": 20 } },
};
const QUOTA = {
  authorities: ["spiffe://dev.meridian.internal/ns/meridian-ops/sa/quota-admin"],
  identity: { issuer: "https://id.meridian.example.com", audience: "meridian-quota", jwksUri: "https://id.meridian.example.com/.well-known/jwks.json" },
  tenants: [
    { id: "acme", owners: ["acme-admin"], hard: { cpu: 20, memory: 64, storage: 500, pods: 200, services: 20, persistentvolumeclaims: 30, ingressKbps: 10240, egressKbps: 2048 } },
    { id: "beta", owners: ["beta-admin"], hard: { cpu: 2.5, memory: 6.5 }, container: { defaultRequest: { cpu: 0.05, memory: 0.0625 }, default: { cpu: 0.25, memory: 0.25 } } },
  ],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers; the assertions check their shape
type Obj = { metadata: { name: string; namespace?: string }; spec: Record<string, any> };
const inputs = (r: RecordedResource) => r.inputs as unknown as Obj;

describe("tenant quotas on a one-region estate (mocked plan)", () => {
  let plan: Plan;
  let bare: Plan;
  beforeAll(async () => {
    plan = await evaluateStack("dev", { configOverrides: { ...ONE_REGION, "meridian:runtime": { image: `ghcr.io/meridian/runtime@sha256:${"0".repeat(64)}`, quota: QUOTA } } });
    bare = await evaluateStack("dev", { configOverrides: ONE_REGION });
  }, 180_000);

  it("renders each tenant's namespace, ResourceQuota and LimitRange on the region's cluster", () => {
    const objects = under(plan, "meridian:workloads:TenantQuotas", "gcp-usc1-tenants");
    const provider = ofType(plan, "pulumi:providers:kubernetes").find((p) => p.name.includes("gcp-usc1"));
    expect(provider, "the region's kubernetes provider").toBeDefined();
    for (const r of objects) expect(r.provider, r.name).toMatch(new RegExp(`^${provider!.urn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}::`));
    const namespaces = objects.filter((r) => r.type === "kubernetes:core/v1:Namespace");
    expect(namespaces.map((r) => inputs(r).metadata.name).sort()).toEqual(["tenant-acme", "tenant-beta"]);
    for (const ns of namespaces)
      expect((ns.inputs as { metadata: { labels: Record<string, string> } }).metadata.labels).toMatchObject({ "istio-injection": "enabled", "pod-security.kubernetes.io/enforce": "restricted" });
    const quota = (ns: string) => inputs(objects.find((r) => r.type === "kubernetes:core/v1:ResourceQuota" && inputs(r).metadata.namespace === ns)!).spec.hard;
    expect(quota("tenant-acme")).toEqual({
      "requests.cpu": "20000m",
      "limits.cpu": "20000m",
      "requests.memory": "64Gi",
      "limits.memory": "64Gi",
      "requests.storage": "500Gi",
      pods: "200",
      services: "20",
      persistentvolumeclaims: "30",
    });
    expect(quota("tenant-beta")).toEqual({ "requests.cpu": "2500m", "limits.cpu": "2500m", "requests.memory": "6656Mi", "limits.memory": "6656Mi" });
    const limits = inputs(objects.find((r) => r.type === "kubernetes:core/v1:LimitRange" && inputs(r).metadata.namespace === "tenant-beta")!).spec.limits;
    expect(limits).toEqual([{ type: "Container", defaultRequest: { cpu: "50m", memory: "64Mi" }, default: { cpu: "250m", memory: "256Mi" }, max: { cpu: "2500m", memory: "6656Mi" } }]);
    // The namespace exists before what goes into it.
    const ns = objects.find((r) => r.type === "kubernetes:core/v1:Namespace" && inputs(r).metadata.name === "tenant-beta")!;
    for (const r of objects.filter((x) => inputs(x).metadata.namespace === "tenant-beta")) expect(r.dependencies).toContain(ns.urn);
  });

  it("limits the bandwidth of the tenant that has a bandwidth quota, on its sidecars, once Istio's CRDs are there", () => {
    const objects = under(plan, "meridian:workloads:TenantQuotas", "gcp-usc1-tenants");
    const filters = objects.filter((r) => r.type === "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter");
    expect(filters.map((r) => inputs(r).metadata.namespace)).toEqual(["tenant-acme"]);
    const f = filters[0]!.inputs as { apiVersion: string; kind: string; spec: { configPatches: { match: { context: string }; patch: { value: { typed_config: { limit_kbps: number } } } }[] } };
    validateCustomResource(f);
    expect(Object.fromEntries(f.spec.configPatches.map((p) => [p.match.context, p.patch.value.typed_config.limit_kbps]))).toEqual({ SIDECAR_INBOUND: 10240, SIDECAR_OUTBOUND: 2048 });
    const istioBase = plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.name === "gcp-usc1-istio-base")!;
    const ns = objects.find((r) => r.type === "kubernetes:core/v1:Namespace" && inputs(r).metadata.name === "tenant-acme")!;
    expect(filters[0]!.dependencies).toEqual(expect.arrayContaining([ns.urn, istioBase.urn]));
    // The quota service accounts the same bandwidth.
    const cm = under(plan, "meridian:workloads:RuntimeServices", "gcp-usc1-runtime").find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "gcp-usc1-quota-config")!;
    const file = JSON.parse((cm.inputs as { data: Record<string, string> }).data["quota.json"]!) as { dimensions: string[]; tenants: { id: string; hard: Record<string, number> }[] };
    expect(file.dimensions).toEqual(expect.arrayContaining(["ingressKbps", "egressKbps"]));
    expect(file.tenants.find((t) => t.id === "acme")!.hard).toMatchObject({ ingressKbps: 10240, egressKbps: 2048 });
  });

  it("deploys the quota service with a config runtime/quota accepts and the same numbers", () => {
    const runtime = under(plan, "meridian:workloads:RuntimeServices", "gcp-usc1-runtime");
    const deployment = runtime.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === "gcp-usc1-quota-deployment")!;
    const d = inputs(deployment).spec as { replicas: number; strategy: { type: string }; template: { spec: { containers: { args: string[] }[] } } };
    expect(d.replicas).toBe(1);
    expect(d.strategy.type).toBe("Recreate");
    const args = d.template.spec.containers[0]!.args;
    expect(args.slice(0, 4)).toEqual(["ratelimit", "quota", "--config", "/etc/meridian/quota/quota.json"]);
    expect(args).toContain("$(MERIDIAN_POSTGRES_URL)");
    const cm = runtime.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "gcp-usc1-quota-config")!;
    const file = JSON.parse((cm.inputs as { data: Record<string, string> }).data["quota.json"]!) as Record<string, unknown>;
    const { server, ...keys } = file;
    const parsed = quotaServiceConfig.parse({ ...keys, postgres: "postgresql://db.internal:5432/meridian" });
    expect(parsed.log).toBe("http://prooflog.meridian.svc.cluster.local:8080");
    // The tenants' JWT issuer beside the identity the pod's sidecar reports (model/security/mesh-identity.ts).
    expect(server).toMatchObject({ auth: { jwt: { issuer: QUOTA.identity.issuer, audience: QUOTA.identity.audience, jwks: QUOTA.identity.jwksUri } }, identity: { xfcc: "istio-sidecar" } });
    const tree = buildQuotaTree(parsed, new ManualClock());
    expect(tree.authorities).toEqual(QUOTA.authorities);
    expect(tree.effectiveHard("acme", "cpu")).toBe(20);
    expect(tree.effectiveHard("beta", "memory")).toBe(6.5);
    expect(tree.isAuthority("acme-admin", "acme")).toBe(true);
  });

  it("renders nothing for an estate without tenants, and keeps the quota service at zero", () => {
    expect(ofType(bare, "meridian:workloads:TenantQuotas")).toEqual([]);
    expect(ofType(bare, "kubernetes:core/v1:ResourceQuota")).toEqual([]);
    expect(ofType(bare, "kubernetes:networking.istio.io/v1alpha3:EnvoyFilter").map((r) => r.name)).toEqual(["gcp-usc1-gateway-ratelimit"]);
    const deployment = under(bare, "meridian:workloads:RuntimeServices", "gcp-usc1-runtime").find((r) => r.name === "gcp-usc1-quota-deployment")!;
    expect((inputs(deployment).spec as { replicas: number }).replicas).toBe(0);
  });
});
