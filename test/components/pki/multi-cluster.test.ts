/**
 * The multi-cluster mesh components on their own (no estate program): every staging region's RegionCluster, an
 * EastWestGateway per region with stand-ins for Istio's releases, then each region's RemoteSecrets, under the
 * recording mock runtime with fake cloud values (Kubernetes' token controller fills the token Secrets in).
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { RecordedResource } from "../../../components/preview/mock-runtime.js";
import { runRegionsUnderMocks } from "../regions-under-mocks.js";
import { EastWestGateway, RemoteSecrets } from "../../../components/pki/multi-cluster.js";
import { istiodValues } from "../../../components/pki/mesh-tls.js";
import { spireValues } from "../../../components/pki/spire.js";
import { CHARTS } from "../../../components/pki/charts.js";
import type { EstateSpec } from "../../../model/estate.js";
import { EAST_WEST_GATEWAY, multiPrimaryMesh, type MeshMember, type MultiPrimaryMesh } from "../../../model/mesh/multi-primary.js";
import { readStackConfigMap } from "../../../stacks/load.js";
import { pinnedChart } from "./pinned-charts.js";
import { validateCustomResource } from "./schemas.js";

const STACK = "staging";
/**
 * Where each staging region's peers must find its API server: aws-use1's kubeconfig secret is one as
 * `aws eks update-kubeconfig` writes it (exec user, the EKS endpoint); gcp-euw1 keeps the preview's stand-in
 * kubeconfig; azure-sea sets `mesh.apiServer`, which overrides its kubeconfig.
 */
const EKS = "https://A1B2C3D4E5F6.gr7.us-east-1.eks.amazonaws.com";
const OVERRIDE = "https://azure-sea-api.privatelink.southeastasia.azmk8s.io:443";
const EXPECTED_SERVER: Record<string, string> = { "aws-use1": EKS, "gcp-euw1": "https://gcp-euw1.kubeconfig-stand-in.invalid", "azure-sea": OVERRIDE };
function overrides(): Record<string, unknown> {
  const cluster = "arn:aws:eks:us-east-1:111122223333:cluster/meridian-staging";
  const regions = (readStackConfigMap(STACK)["meridian:regions"] as Record<string, unknown>[]).map((r) =>
    r["id"] === "azure-sea" ? { ...r, mesh: { ...(r["mesh"] as object), apiServer: OVERRIDE } } : r,
  );
  return {
    "meridian:regions": regions,
    "meridian:kubeconfig-aws-use1": stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: cluster, cluster: { server: EKS, "certificate-authority-data": "Q0E=" } }],
      contexts: [{ name: cluster, context: { cluster, user: cluster } }],
      "current-context": cluster,
      users: [{ name: cluster, user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", "meridian-staging"] } } }],
    }),
  };
}

async function planMesh(): Promise<{ spec: EstateSpec; mesh: MultiPrimaryMesh; resources: RecordedResource[] }> {
  let mesh!: MultiPrimaryMesh;
  const { spec, resources } = await runRegionsUnderMocks(
    STACK,
    ({ spec, parent, clusters }) => {
      mesh = multiPrimaryMesh(spec)!;
      const gateways = new Map<string, { ew: EastWestGateway; istiod: pulumi.Resource }>();
      for (const m of mesh.members) {
        const istiod = new pulumi.ComponentResource("meridian:test:Istiod", `${m.region}-istiod`, {}, { parent });
        gateways.set(m.region, { ew: new EastWestGateway(`${m.region}-east-west`, { mesh, member: m, cluster: clusters.get(m.region)!, istio: [istiod] }, { parent }), istiod });
      }
      for (const m of mesh.members) {
        const region = clusters.get(m.region)!.region;
        const peers = mesh.members.filter((p) => p.region !== m.region).map((p) => ({ member: p, token: gateways.get(p.region)!.ew.readerTokens.get(m.region)! }));
        const r = {
          istiodGlobal: istiodValues(spec, region)["global"] as Record<string, unknown>,
          spireClusterName: (spireValues(spec, region)["global"] as { spire: { clusterName: unknown } }).spire.clusterName,
        };
        new RemoteSecrets(`${m.region}-remote-secrets`, { mesh, member: m, cluster: clusters.get(m.region)!, peers, rendered: r, istiod: gateways.get(m.region)!.istiod }, { parent });
      }
    },
    overrides(),
  );
  return { spec, mesh, resources };
}

const named = (rs: RecordedResource[], type: string, name: string): RecordedResource => {
  const r = rs.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} ${name}`);
  return r;
};
const providerOf = (rs: RecordedResource[], region: string) => rs.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === `${region}-k8s`)!.urn;

describe("meridian:pki:EastWestGateway and RemoteSecrets (multi-primary on different networks)", () => {
  let plan: Awaited<ReturnType<typeof planMesh>>;
  beforeAll(async () => {
    plan = await planMesh();
  }, 60_000);

  it("each cluster's istio-system carries its network label and no istio-injection label", () => {
    for (const m of plan.mesh.members) {
      const ns = named(plan.resources, "kubernetes:core/v1:Namespace", `${m.region}-istio-system`);
      const labels = (ns.inputs["metadata"] as { labels: Record<string, string> }).labels;
      expect(labels["topology.istio.io/network"]).toBe(m.network);
      // No istio-injection label: istiod's object selector then injects the east-west gateway's pods (labelled
      // sidecar.istio.io/inject=true by the chart) and nothing else; "disabled" would leave its `image: auto` unresolved.
      expect(labels["istio-injection"]).toBeUndefined();
      expect(labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    }
    expect(new Set(plan.mesh.members.map((m) => m.network)).size).toBe(plan.mesh.members.length);
  });

  it("an east-west gateway per cluster from the pinned gateway chart, its values valid against the chart's schema", () => {
    const pin = pinnedChart(CHARTS.istioGateway.repo, CHARTS.istioGateway.chart, CHARTS.istioGateway.version)!;
    for (const m of plan.mesh.members) {
      const r = named(plan.resources, "kubernetes:helm.sh/v3:Release", `${m.region}-istio-eastwestgateway`);
      expect(r.inputs).toMatchObject({ chart: "gateway", version: CHARTS.istioGateway.version, namespace: "istio-system" });
      const values = r.inputs["values"] as Record<string, unknown>;
      expect(values).toMatchObject({ name: "istio-eastwestgateway", networkGateway: m.network, labels: { istio: "eastwestgateway" } });
      expect(pin.problems(values)).toEqual([]);
      // The check can fail: the schema wants a string network and knows no `network` key.
      expect(pin.problems({ ...values, networkGateway: 1 }).join()).toMatch(/networkGateway: must be string/);
      expect(pin.problems({ ...values, network: m.network })).toEqual(["/: must NOT have additional properties (network)"]);
      expect(r.provider?.startsWith(providerOf(plan.resources, m.region))).toBe(true);
    }
  });

  it("each east-west load balancer admits only the peers' egress addresses, as the pinned chart's Service renders them", () => {
    // templates/service.yaml at 1.28.0 copies service.loadBalancerSourceRanges and merges service.annotations; with
    // networkGateway it publishes exactly the four ports the cost model prices (EAST_WEST_GATEWAY.servicePorts).
    const template = readFileSync(new URL("../../testdata/charts/istio-1.28.0/gateway-templates/service.yaml", import.meta.url), "utf8");
    expect(template).toContain("{{- with .Values.service.loadBalancerSourceRanges }}\n  loadBalancerSourceRanges:");
    expect(template).toContain("merge (deepCopy .Values.service.annotations) .Values.annotations");
    const networkPorts = template.slice(template.indexOf("{{- if .Values.networkGateway }}"), template.indexOf("{{- else }}"));
    expect([...networkPorts.matchAll(/ port: (\d+)/g)].map((m) => Number(m[1]))).toEqual([...EAST_WEST_GATEWAY.servicePorts]);
    const egress = new Map(plan.spec.regions.map((r) => [r.id, r.mesh!.egress!]));
    for (const m of plan.mesh.members) {
      const values = named(plan.resources, "kubernetes:helm.sh/v3:Release", `${m.region}-istio-eastwestgateway`).inputs["values"] as {
        service: { type: string; loadBalancerSourceRanges: string[]; annotations: Record<string, string> };
      };
      const peers = plan.spec.regions.filter((r) => r.id !== m.region).flatMap((r) => egress.get(r.id)!);
      expect(values.service.type).toBe("LoadBalancer");
      expect(values.service.loadBalancerSourceRanges).toEqual([...new Set(peers)].sort());
      for (const own of egress.get(m.region)!) if (!peers.includes(own)) expect(values.service.loadBalancerSourceRanges).not.toContain(own);
      const cloud = plan.spec.regions.find((r) => r.id === m.region)!.cloud;
      expect(values.service.annotations["service.beta.kubernetes.io/aws-load-balancer-type"]).toBe(cloud === "aws" ? "external" : undefined);
    }
    // The chart's schema checks the values (an empty or malformed source range list is the chart's to refuse, too).
    const pin = pinnedChart(CHARTS.istioGateway.repo, CHARTS.istioGateway.chart, CHARTS.istioGateway.version)!;
    const values = named(plan.resources, "kubernetes:helm.sh/v3:Release", `aws-use1-istio-eastwestgateway`).inputs["values"] as Record<string, unknown>;
    expect(pin.problems({ ...values, service: { ...(values["service"] as object), loadBalancerSourceRanges: "203.0.113.0/24" } }).join()).toMatch(/loadBalancerSourceRanges/);
  });

  it("the cross-network Gateway passes mTLS through on 15443 for *.local and validates against Istio's CRD schema", () => {
    for (const m of plan.mesh.members) {
      const g = named(plan.resources, "kubernetes:networking.istio.io/v1:Gateway", `${m.region}-mesh-gateway-cross-network-gateway`);
      const { apiVersion, kind, metadata, spec } = g.inputs as { apiVersion: string; kind: string; metadata: unknown; spec: unknown };
      expect(spec).toEqual({ selector: { istio: "eastwestgateway" }, servers: [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "AUTO_PASSTHROUGH" }, hosts: ["*.local"] }] });
      expect(() => validateCustomResource({ apiVersion, kind, metadata, spec })).not.toThrow();
      const broken = { servers: [{ port: { number: 15443, name: "tls", protocol: "TLS" }, tls: { mode: "PASSTHROUGH_AUTO" }, hosts: ["*.local"] }] };
      expect(() => validateCustomResource({ apiVersion, kind, metadata, spec: broken })).toThrow();
    }
  });

  it("each istiod reads every peer with a token that peer issued to it: the remote secret as istioctl writes it", () => {
    for (const reader of plan.mesh.members) {
      const peers = plan.mesh.members.filter((p) => p.region !== reader.region);
      const secrets = plan.resources.filter((r) => r.type === "kubernetes:core/v1:Secret" && r.name.startsWith(`${reader.region}-istio-remote-secret-`));
      expect(secrets.map((s) => s.name).sort()).toEqual(peers.map((p) => `${reader.region}-istio-remote-secret-${p.clusterName}`).sort());
      for (const peer of peers) {
        const s = named(plan.resources, "kubernetes:core/v1:Secret", `${reader.region}-istio-remote-secret-${peer.clusterName}`);
        const metadata = s.inputs["metadata"] as { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
        expect(metadata).toMatchObject({ name: `istio-remote-secret-${peer.clusterName}`, namespace: "istio-system", annotations: { "networking.istio.io/cluster": peer.clusterName } });
        expect(metadata.labels["istio/multiCluster"]).toBe("true");
        // Applied to the reading cluster; built from the token Secret on the peer's cluster, issued for this reader.
        expect(s.provider?.startsWith(providerOf(plan.resources, reader.region))).toBe(true);
        const token = named(plan.resources, "kubernetes:core/v1:Secret", `${peer.region}-meridian-mesh-reader-${reader.region}-token`);
        expect(token.provider?.startsWith(providerOf(plan.resources, peer.region))).toBe(true);
        expect(token.inputs).toMatchObject({ type: "kubernetes.io/service-account-token", metadata: { annotations: { "kubernetes.io/service-account.name": "meridian-mesh-reader" } } });
        expect(s.dependencies).toContain(token.urn);
        const kubeconfig = parse((s.inputs["stringData"] as Record<string, string>)[peer.clusterName]!) as {
          clusters: { name: string; cluster: { server: string; "certificate-authority-data": string } }[];
          users: { name: string; user: { token: string } }[];
          "current-context": string;
        };
        expect(kubeconfig["current-context"]).toBe(peer.clusterName);
        // The peer's API server: from its kubeconfig secret, or its mesh.apiServer where set.
        expect(kubeconfig.clusters[0]!.cluster.server).toBe(EXPECTED_SERVER[peer.region]);
        expect(Buffer.from(kubeconfig.clusters[0]!.cluster["certificate-authority-data"], "base64").toString()).toContain(`mock cluster CA of ${token.name}`);
        expect(kubeconfig.users[0]!.user.token).toBe(`mock-token.${token.name}`);
      }
    }
  });

  it("the API server comes from the peer's kubeconfig secret unless mesh.apiServer overrides it", () => {
    expect(plan.mesh.members.map((m) => [m.region, m.apiServer])).toEqual([
      ["aws-use1", { kind: "kubeconfig", key: "kubeconfig-aws-use1" }],
      ["gcp-euw1", { kind: "kubeconfig", key: "kubeconfig-gcp-euw1" }],
      ["azure-sea", { kind: "setting", url: OVERRIDE }],
    ]);
  });

  it("the reader is bound to the istiod chart's reader ClusterRole, nothing more", () => {
    for (const m of plan.mesh.members) {
      const b = named(plan.resources, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", `${m.region}-meridian-mesh-reader`);
      expect(b.inputs).toMatchObject({
        roleRef: { kind: "ClusterRole", name: "istio-reader-clusterrole-istio-system" },
        subjects: [{ kind: "ServiceAccount", name: "meridian-mesh-reader", namespace: "istio-system" }],
      });
    }
  });

  it("refuses a region whose istiod clusterName is not SPIRE's, or without a secret per peer, before registering anything", () => {
    const [member, peer] = plan.mesh.members as [MeshMember, MeshMember];
    // The check runs before the component registers anything (or touches the cluster), so no peer token is needed.
    const attempt = (rendered: { istiodGlobal: Record<string, unknown>; spireClusterName: unknown }, peers: MeshMember[]) => () =>
      new RemoteSecrets("refused", { mesh: plan.mesh, member, cluster: undefined as never, peers: peers.map((p) => ({ member: p, token: undefined as never })), rendered, istiod: undefined as never });
    const global = { meshID: plan.mesh.meshID, multiCluster: { clusterName: member.clusterName }, network: member.network };
    const others = plan.mesh.members.filter((m) => m.region !== member.region);
    expect(attempt({ istiodGlobal: global, spireClusterName: `${member.region}-spire` }, others)).toThrow(
      `istiod's global.multiCluster.clusterName "${member.clusterName}" is not SPIRE's clusterName "${member.region}-spire"`,
    );
    expect(attempt({ istiodGlobal: global, spireClusterName: member.clusterName }, [member, ...others.filter((m) => m !== peer)])).toThrow(
      new RegExp(`a remote secret for its own cluster ${member.clusterName}[^]*no remote secret for peer ${peer.clusterName}`),
    );
  });
});
