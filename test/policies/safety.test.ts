import { describe, expect, it } from "vitest";
import { parsePackConfig } from "../../policies/config.js";
import { certificateBounds } from "../../policies/rules/certificates.js";
import { noPublicDatabases } from "../../policies/rules/databases.js";
import { failoverTtl } from "../../policies/rules/failover-ttl.js";
import { healthCheckSanity } from "../../policies/rules/health-checks.js";
import { meshWideStrictPresent, peerAuthenticationStrict } from "../../policies/rules/mtls.js";
import { imagesByDigest, repositoryOf, runtimeImageDigest, runtimeImagePlaceholder } from "../../policies/rules/images.js";
import { isDocumentationCidr, meshEgressPlaceholder } from "../../policies/rules/mesh-egress.js";
import { nilUuidPlaceholder, nilUuidSettings } from "../../policies/rules/nil-uuid.js";
import { CHART_IMAGES, chartImageValues, requiredImageDigests } from "../../model/images/charts.js";
import type { ModelView, ResourceLike, ResourceRule } from "../../policies/rule.js";

const config = parsePackConfig({});
const res = (type: string, props: Record<string, unknown>, name = "r"): ResourceLike => ({ type, name, props });
const check = (rule: ResourceRule, type: string, props: Record<string, unknown>) => rule.check(res(type, props), config);

describe("meridian-health-check-sanity", () => {
  const R53 = "aws:route53/healthCheck:HealthCheck";
  it("passes a 10 s × 3 Route 53 HTTPS check", () => {
    expect(check(healthCheckSanity, R53, { type: "HTTPS", requestInterval: 10, failureThreshold: 3 })).toEqual([]);
  });
  it("fails an interval Route 53 rejects and a detection time above the limit", () => {
    expect(check(healthCheckSanity, R53, { type: "HTTPS", requestInterval: 15, failureThreshold: 3 })).toEqual([expect.stringMatching(/requestInterval 15: Route 53 accepts 10 or 30/)]);
    expect(check(healthCheckSanity, R53, { type: "HTTPS", requestInterval: 30, failureThreshold: 10 })).toEqual([expect.stringMatching(/~300s.*limit is 120s/)]);
  });
  it("Cloud DNS / Compute: timeout above interval fails, sane check passes", () => {
    const T = "gcp:compute/healthCheck:HealthCheck";
    expect(check(healthCheckSanity, T, { checkIntervalSec: 30, timeoutSec: 5, unhealthyThreshold: 3 })).toEqual([]);
    expect(check(healthCheckSanity, T, { checkIntervalSec: 5, timeoutSec: 10, unhealthyThreshold: 3 })).toEqual([expect.stringMatching(/timeoutSec 10 exceeds checkIntervalSec 5/)]);
  });
  it("Traffic Manager: timeout must be shorter than the interval", () => {
    const T = "azure-native:trafficmanager:Profile";
    expect(check(healthCheckSanity, T, { monitorConfig: { intervalInSeconds: 10, timeoutInSeconds: 5, toleratedNumberOfFailures: 2 } })).toEqual([]);
    expect(check(healthCheckSanity, T, { monitorConfig: { intervalInSeconds: 10, timeoutInSeconds: 10, toleratedNumberOfFailures: 2 } })).toEqual([
      expect.stringMatching(/timeoutInSeconds 10 must be shorter/),
    ]);
  });
  it("Cloudflare monitor: retries out of range fail", () => {
    const T = "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor";
    expect(check(healthCheckSanity, T, { interval: 60, timeout: 5, retries: 2 })).toEqual([]);
    expect(check(healthCheckSanity, T, { interval: 60, timeout: 5, retries: 9 })).toEqual([expect.stringMatching(/retries 9/)]);
  });
});

describe("meridian-failover-ttl", () => {
  it("passes a failover record with a 60 s TTL and ignores plain records", () => {
    expect(check(failoverTtl, "aws:route53/record:Record", { ttl: 60, setIdentifier: "p", failoverRoutingPolicies: [{ type: "PRIMARY" }] })).toEqual([]);
    expect(check(failoverTtl, "aws:route53/record:Record", { ttl: 3600, records: ["1.2.3.4"] })).toEqual([]);
  });
  it("fails a health-checked record, a Cloud DNS primary/backup set, Traffic Manager and an unproxied Cloudflare LB above 60 s", () => {
    expect(check(failoverTtl, "aws:route53/record:Record", { ttl: 300, healthCheckId: "hc", setIdentifier: "x" })).toEqual([expect.stringMatching(/ttl 300s exceeds the failover limit of 60s/)]);
    expect(check(failoverTtl, "gcp:dns/recordSet:RecordSet", { ttl: 120, routingPolicy: { primaryBackup: { primary: {} } } })).toHaveLength(1);
    expect(check(failoverTtl, "azure-native:trafficmanager:Profile", { dnsConfig: { relativeName: "x", ttl: 300 } })).toHaveLength(1);
    expect(check(failoverTtl, "cloudflare:index/loadBalancer:LoadBalancer", { proxied: false, ttl: 120 })).toHaveLength(1);
    expect(check(failoverTtl, "cloudflare:index/loadBalancer:LoadBalancer", { proxied: true, ttl: 120 })).toEqual([]);
  });
});

describe("meridian-mtls-strict and meridian-mtls-mesh-wide", () => {
  const PA = "kubernetes:security.istio.io/v1:PeerAuthentication";
  const meshWide = res(PA, { metadata: { name: "default", namespace: "istio-system" }, spec: { mtls: { mode: "STRICT" } } });
  it("passes STRICT and fails PERMISSIVE (also per port)", () => {
    expect(peerAuthenticationStrict.check(meshWide, config)).toEqual([]);
    expect(check(peerAuthenticationStrict, PA, { spec: { mtls: { mode: "PERMISSIVE" } } })).toEqual([expect.stringMatching(/PERMISSIVE; expected STRICT/)]);
    expect(check(peerAuthenticationStrict, PA, { spec: { mtls: { mode: "STRICT" }, portLevelMtls: { "8080": { mode: "DISABLE" } } } })).toEqual([
      expect.stringMatching(/portLevelMtls\.8080\.mode is DISABLE/),
    ]);
  });
  it("requires a mesh-wide STRICT policy wherever Istio is installed", () => {
    const istiod = res("kubernetes:helm.sh/v3:Release", { chart: "istiod", repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } });
    const ctx = { config, model: null };
    expect(meshWideStrictPresent.check([istiod, meshWide], ctx)).toEqual([]);
    expect(meshWideStrictPresent.check([istiod], ctx)).toEqual([{ message: expect.stringMatching(/no PeerAuthentication in istio-system/) }]);
    // No mesh, nothing to require.
    expect(meshWideStrictPresent.check([res("kubernetes:core/v1:Namespace", {})], ctx)).toEqual([]);
  });
});

describe("meridian-certificate-bounds", () => {
  const C = "kubernetes:cert-manager.io/v1:Certificate";
  it("passes 2160h / 720h (a third)", () => {
    expect(check(certificateBounds, C, { spec: { duration: "2160h", renewBefore: "720h" } })).toEqual([]);
  });
  it("fails a year-long certificate and a renewBefore not shorter than the duration or too small", () => {
    expect(check(certificateBounds, C, { spec: { duration: "8760h", renewBefore: "2920h" } })).toEqual([expect.stringMatching(/8760h is outside 1h-2160h/)]);
    expect(check(certificateBounds, C, { spec: { duration: "24h", renewBefore: "24h" } })).toEqual([expect.stringMatching(/not shorter than spec.duration 24h/)]);
    expect(check(certificateBounds, C, { spec: { duration: "2160h", renewBefore: "1h" } })).toEqual([expect.stringMatching(/0\.0% of the duration; expected 10-50%/)]);
  });
  it("holds CA certificates (isCA) to the CA bounds: a year-long intermediate renewing 30 days early passes", () => {
    expect(check(certificateBounds, C, { spec: { isCA: true, duration: "8760h", renewBefore: "720h" } })).toEqual([]);
    expect(check(certificateBounds, C, { spec: { isCA: true, duration: "175200h", renewBefore: "720h" } })).toEqual([
      expect.stringMatching(/175200h is outside 1h-87600h/),
      expect.stringMatching(/0\.4% of the duration; expected 5-50%/),
    ]);
  });
});

describe("meridian-no-public-databases", () => {
  it("passes private Aurora, Cloud SQL and Azure flexible servers", () => {
    expect(check(noPublicDatabases, "aws:rds/clusterInstance:ClusterInstance", { publiclyAccessible: false })).toEqual([]);
    expect(check(noPublicDatabases, "gcp:sql/databaseInstance:DatabaseInstance", { settings: { ipConfiguration: { ipv4Enabled: false, privateNetwork: "projects/p/global/networks/n" } } })).toEqual(
      [],
    );
    expect(check(noPublicDatabases, "azure-native:dbforpostgresql:Server", { network: { publicNetworkAccess: "Disabled", delegatedSubnetResourceId: "/subnets/db" } })).toEqual([]);
    expect(check(noPublicDatabases, "azure-native:dbforpostgresql:Server", { createMode: "Replica", sourceServerResourceId: "/x" })).toEqual([]);
  });
  it("fails public endpoints on each cloud", () => {
    expect(check(noPublicDatabases, "aws:rds/clusterInstance:ClusterInstance", { publiclyAccessible: true })).toEqual(["publiclyAccessible is true"]);
    expect(check(noPublicDatabases, "gcp:sql/databaseInstance:DatabaseInstance", { settings: {} })).toHaveLength(2);
    expect(check(noPublicDatabases, "azure-native:dbforpostgresql:Server", { network: { publicNetworkAccess: "Enabled" } })).toHaveLength(2);
    expect(check(noPublicDatabases, "azure-native:dbforpostgresql:FirewallRule", { startIpAddress: "0.0.0.0", endIpAddress: "255.255.255.255" })).toHaveLength(1);
  });
});

describe("rules in preview", () => {
  it("a health check whose interval is computed is not judged by a default; a literal one still is", async () => {
    const { healthCheckSanity } = await import("../../policies/rules/health-checks.js");
    const { UNKNOWN } = await import("../../model/resources.js");
    const { parsePackConfig } = await import("../../policies/config.js");
    const config = parsePackConfig({});
    const hc = (requestInterval: unknown) => ({ type: "aws:route53/healthCheck:HealthCheck", name: "hc", props: { type: "HTTPS", requestInterval, failureThreshold: 10 } });
    expect(healthCheckSanity.check(hc(UNKNOWN), config)).toEqual([]);
    expect(healthCheckSanity.check(hc(30), config)).toEqual(["detects failure after ~300s (requestInterval 30 × failureThreshold 10); the limit is 120s"]);
  });
});

describe("meridian-runtime-image-digest", () => {
  const digest = `ghcr.io/meridian/runtime@sha256:${"ab".repeat(32)}`;
  const ctx = (image: string) => ({ config, model: { spec: { runtime: { image } } } as unknown as ModelView });
  const deployment = (image: string, name = "escrow") => res("kubernetes:apps/v1:Deployment", { spec: { template: { spec: { containers: [{ name, image }] } } } }, name);
  const cronJob = (image: string) =>
    res("kubernetes:batch/v1:CronJob", { spec: { jobTemplate: { spec: { template: { spec: { initContainers: [{ name: "init", image }], containers: [] } } } } } }, "rotate");
  it("passes a runtime image pinned by digest and the containers that run it", () => {
    expect(runtimeImageDigest.check([deployment(digest), cronJob(digest), deployment("postgres:16-alpine", "psql")], ctx(digest))).toEqual([]);
  });
  it("refuses latest and any other tag in the stack setting", () => {
    for (const image of ["ghcr.io/meridian/runtime:latest", "ghcr.io/meridian/runtime:v1.2.3", "ghcr.io/meridian/runtime", "localhost:5000/meridian/runtime"]) {
      expect(runtimeImageDigest.check([], ctx(image)), image).toEqual([{ message: expect.stringMatching(/^meridian:runtime\.image is ".*": a tag is mutable; set <repository>@sha256:<digest>/) }]);
    }
  });
  it("refuses a container that runs the runtime repository by tag or by another digest", () => {
    const findings = runtimeImageDigest.check([deployment("ghcr.io/meridian/runtime:latest"), cronJob(`ghcr.io/meridian/runtime@sha256:${"cd".repeat(32)}`)], ctx(digest));
    expect(findings.map((f) => [f.resource?.name, f.message])).toEqual([
      ["escrow", expect.stringMatching(/^container escrow \(containers\[0\]\) runs ghcr\.io\/meridian\/runtime:latest; the runtime image is pinned as /)],
      ["rotate", expect.stringMatching(/^container init \(initContainers\[0\]\) runs ghcr\.io\/meridian\/runtime@sha256:cdcd/)],
    ]);
    expect(repositoryOf("localhost:5000/meridian/runtime:v1@sha256:00")).toBe("localhost:5000/meridian/runtime");
  });
});

describe("meridian-runtime-image-placeholder", () => {
  const zero = `ghcr.io/meridian/runtime@sha256:${"0".repeat(64)}`;
  const ctx = (environment: string, image: string, imageDigests: Record<string, string> = {}) => ({
    config,
    model: { spec: { environment, runtime: { image }, imageDigests } } as unknown as ModelView,
  });
  it("refuses the shipped all-zero digest outside local, naming the stack setting that supplies the real one", () => {
    for (const env of ["dev", "staging", "prod"]) {
      expect(runtimeImagePlaceholder.check([], ctx(env, zero)), env).toEqual([
        {
          message: expect.stringMatching(
            new RegExp(
              `^meridian:runtime\\.image is the placeholder ".*": no image has that digest, so every runtime pod of the ${env} stack would fail to pull\\. Push the runtime image and set the stack setting meridian:runtime\\.image to <repository>@sha256:`,
            ),
          ),
        },
      ]);
    }
    expect(runtimeImagePlaceholder.enforcementLevel).toBe("mandatory");
  });
  it("refuses the all-zero placeholder in meridian:imageDigests outside local, naming the key and the command that prints the digest", () => {
    const real = `ghcr.io/meridian/runtime@sha256:${"ab".repeat(32)}`;
    const digests = { "ghcr.io/spiffe/spire-server:1.13.0": `sha256:${"0".repeat(64)}`, "docker.io/istio/pilot:1.28.0": `sha256:${"ab".repeat(32)}` };
    expect(runtimeImagePlaceholder.check([], ctx("prod", real, digests))).toEqual([
      { message: expect.stringMatching(/^meridian:imageDigests has the all-zero placeholder for 1 image: .*`crane digest <key>`.*: ghcr\.io\/spiffe\/spire-server:1\.13\.0\.$/) },
    ]);
    expect(runtimeImagePlaceholder.check([], ctx("local", real, digests))).toEqual([]);
  });
  it("lets local run the placeholder (images come from the machine) and any stack a real digest", () => {
    expect(runtimeImagePlaceholder.check([], ctx("local", zero))).toEqual([]);
    expect(runtimeImagePlaceholder.check([], ctx("prod", `ghcr.io/meridian/runtime@sha256:${"0".repeat(63)}1`))).toEqual([]);
  });
});

describe("meridian-mesh-egress-placeholder", () => {
  const ctx = (environment: string, egress: string[][]) => ({
    config,
    model: { spec: { environment, regions: egress.map((e, i) => ({ id: `r${i}`, mesh: { egress: e } })) } } as unknown as ModelView,
  });
  it("refuses RFC 5737 documentation addresses outside local, naming each region's key in one finding", () => {
    for (const env of ["dev", "staging", "prod"]) {
      const found = meshEgressPlaceholder.check([], ctx(env, [["192.0.2.11/32"], ["34.120.7.1/32", "198.51.100.0/24"], ["203.0.113.40/30"]]));
      expect(found, env).toEqual([
        {
          message: expect.stringMatching(
            /^3 mesh egress addresses are RFC 5737 documentation addresses .*: meridian:regions\[0\]\.mesh\.egress \(r0\): 192\.0\.2\.11\/32; meridian:regions\[1\]\.mesh\.egress \(r1\): 198\.51\.100\.0\/24; meridian:regions\[2\]\.mesh\.egress \(r2\): 203\.0\.113\.40\/30\. Set each region's mesh\.egress/,
          ),
        },
      ]);
    }
    expect(meshEgressPlaceholder.enforcementLevel).toBe("mandatory");
  });
  it("lets local, real addresses and wider networks that merely contain a documentation one through", () => {
    expect(meshEgressPlaceholder.check([], ctx("local", [["192.0.2.11/32"]]))).toEqual([]);
    expect(meshEgressPlaceholder.check([], ctx("prod", [["34.120.7.1/32"], ["192.0.0.0/16"], ["198.51.101.0/24"]]))).toEqual([]);
    expect(meshEgressPlaceholder.check([], { config, model: { spec: { environment: "prod", regions: [{ id: "solo" }] } } as unknown as ModelView })).toEqual([]);
  });
  it("knows the three documentation networks exactly", () => {
    expect(["192.0.2.0/24", "198.51.100.7/32", "203.0.113.255/32"].map(isDocumentationCidr)).toEqual([true, true, true]);
    expect(["192.0.3.0/24", "198.51.10.7/32", "203.0.0.0/8", "10.203.0.113/32"].map(isDocumentationCidr)).toEqual([false, false, false, false]);
  });
});

describe("meridian-nil-uuid-placeholder", () => {
  const NIL = "00000000-0000-0000-0000-000000000000";
  const ctx = (environment: string, replication: unknown) => ({ config, model: { spec: { stack: environment, environment, replication } } as unknown as ModelView });
  it("refuses nil-UUID subscription and tenant IDs outside local, naming every setting in one finding", () => {
    const replication = {
      network: { azure: { subscriptionId: NIL } },
      identity: {
        aws: { oidcIssuers: { "aws-use1": "https://oidc.eks.us-east-1.amazonaws.com/id/00000000000000000000000000000001" } },
        azure: { oidcIssuers: { "azure-sea": `https://southeastasia.oic.prod-aks.azure.com/${NIL}/33333333-3333-3333-3333-333333333333/` } },
      },
      copies: [{ id: "a" }, { id: `x-${NIL}` }],
    };
    for (const env of ["dev", "staging", "prod"]) {
      expect(nilUuidPlaceholder.check([], ctx(env, replication)), env).toEqual([
        {
          message: expect.stringMatching(
            /^4 settings name a subscription or tenant by the nil UUID .*, or an EKS issuer by a zero ID: meridian:replication\.network\.azure\.subscriptionId, meridian:replication\.identity\.aws\.oidcIssuers\["aws-use1"\], meridian:replication\.identity\.azure\.oidcIssuers\["azure-sea"\], meridian:replication\.copies\[1\]\.id\. Set the real IDs/,
          ),
        },
      ]);
    }
    expect(nilUuidPlaceholder.enforcementLevel).toBe("mandatory");
  });
  it("lets local and real IDs through", () => {
    expect(nilUuidPlaceholder.check([], ctx("local", { id: `/subscriptions/${NIL}/x` }))).toEqual([]);
    expect(nilUuidPlaceholder.check([], ctx("prod", { id: "/subscriptions/5e1f3a2b-8c4d-4e6f-9a0b-1c2d3e4f5a6b/x" }))).toEqual([]);
    expect(nilUuidSettings({ a: [1, true, null, "00000000-0000-0000-0000-00000000000"] })).toEqual([]);
    expect(nilUuidSettings({ eks: "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" })).toEqual([]);
  });
});

describe("meridian-images-by-digest", () => {
  const ctx = (environment: string) => ({ config, model: { spec: { environment } } as unknown as ModelView });
  const pinned = `docker.io/library/postgres@sha256:${"ab".repeat(32)}`;
  const job = (image: string) => res("kubernetes:batch/v1:Job", { spec: { template: { spec: { containers: [{ name: "psql", image }] } } } }, "sub");
  const helm = (chart: string, version: string, values: Record<string, unknown>) => res("kubernetes:helm.sh/v3:Release", { chart, version, values }, chart);
  // Every image the stack must supply, with a (fabricated, well-formed) digest: what a completed stack carries.
  const all = Object.fromEntries(requiredImageDigests().map((r) => [r, `sha256:${"cd".repeat(32)}`]));
  const complete = (chart: string, version: string, values: Record<string, unknown> = {}) => ({ ...values, ...chartImageValues(chart, version, all) });

  it("refuses a container referenced by tag outside local, and passes one by digest", () => {
    expect(imagesByDigest.check([job("postgres:16-alpine"), job(pinned)], ctx("prod"))).toEqual([
      {
        message: "container psql (containers[0]) runs postgres:16-alpine: a tag is mutable; reference the image as <repository>@sha256:<digest>",
        resource: { type: "kubernetes:batch/v1:Job", name: "sub", urn: undefined },
      },
    ]);
    expect(imagesByDigest.enforcementLevel).toBe("mandatory");
  });

  it("refuses a release whose chart defaults would run its images by tag, naming each image and the value that pins it", () => {
    const findings = imagesByDigest.check([helm("cert-manager", "v1.19.1", { crds: { enabled: true } })], ctx("staging")).map((f) => f.message);
    // The vendored digests are absent too: nothing merged them into these values.
    expect(findings).toEqual(CHART_IMAGES["cert-manager@v1.19.1"]!.map((i) => `cert-manager v1.19.1: ${i.path.join(".")} runs ${i.reference} by tag (set ${i.path.join(".")}.digest to its digest)`));
  });

  it("passes every pinned chart once its images carry digests through the chart's own keys", () => {
    const releases = Object.keys(CHART_IMAGES).map((key) => {
      const [chart, version] = key.split("@") as [string, string];
      return helm(chart, version, complete(chart, version));
    });
    expect(imagesByDigest.check(releases, ctx("prod"))).toEqual([]);
  });

  it("refuses a deliberately tagged image value among pinned ones: an image map, an Istio image string, an unknown chart", () => {
    const tagged = [
      helm(
        "cert-manager-approver-policy",
        "v0.22.2",
        complete("cert-manager-approver-policy", "v0.22.2", { extra: { image: { repository: "quay.io/jetstack/cert-manager-approver-policy", tag: "v0.22.2" } } }),
      ),
      helm("istiod", "1.28.0", {
        ...complete("istiod", "1.28.0"),
        global: { proxy: { image: "docker.io/istio/proxyv2:1.28.0" }, proxy_init: { image: `docker.io/istio/proxyv2@sha256:${"cd".repeat(32)}` } },
      }),
      helm("ingress-nginx", "4.11.0", {}),
    ];
    expect(imagesByDigest.check(tagged, ctx("prod")).map((f) => f.message)).toEqual([
      "cert-manager-approver-policy v0.22.2: extra.image names quay.io/jetstack/cert-manager-approver-policy without a digest",
      "istiod 1.28.0: global.proxy.image runs docker.io/istio/proxyv2:1.28.0 by tag (set global.proxy.image to its digest)",
      "istiod 1.28.0: global.proxy.image is docker.io/istio/proxyv2:1.28.0, a tag",
      "ingress-nginx 4.11.0: chart ingress-nginx 4.11.0 is not in the image catalogue (model/images/charts.ts), so its images cannot be shown to be pinned by digest",
    ]);
  });

  it("does not apply to local (images come from the machine)", () => {
    expect(imagesByDigest.check([job("postgres:16-alpine"), helm("cert-manager", "v1.19.1", {})], ctx("local"))).toEqual([]);
  });
});
