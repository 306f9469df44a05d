/**
 * The multi-cluster mesh on one regional cluster (model/mesh/multi-primary.ts), in two parts because each needs
 * the other's peers:
 * - `EastWestGateway` (`meridian:pki:EastWestGateway`): the `istio-eastwestgateway` release of the pinned
 *   `gateway` chart, the cross-network Gateway (15443, AUTO_PASSTHROUGH, `*.local`), and the read-only identity
 *   the peers' istiod use here: a ServiceAccount bound to the istiod chart's reader ClusterRole and one token
 *   Secret per reading region (Kubernetes fills in its `token` and `ca.crt`; the provider waits for them).
 * - `RemoteSecrets` (`meridian:pki:RemoteSecrets`): for each peer, the kubeconfig Secret istiod discovers it by
 *   (label `istio/multiCluster: "true"`), built from the peer's API server (its `mesh.apiServer`, else the server of
 *   the kubeconfig the stack deploys the peer with) and its token Secret, after checking
 *   the rendered istiod and SPIRE values agree on the cluster's name and network.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
  CLUSTER_ANNOTATION,
  EAST_WEST_GATEWAY,
  MESH_READER,
  MULTI_CLUSTER_SECRET_LABEL,
  MultiPrimaryError,
  crossNetworkGateway,
  eastWestGatewayValues,
  kubeconfigServer,
  readerTokenSecretName,
  remoteKubeconfig,
  remoteSecretName,
  renderedMeshProblems,
  type ApiServerSource,
  type MeshMember,
  type MultiPrimaryMesh,
} from "../../model/mesh/multi-primary.js";
import { NAMESPACES } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { PART_OF, customResource, release } from "./charts.js";

export interface EastWestGatewayArgs {
  mesh: MultiPrimaryMesh;
  member: MeshMember;
  cluster: RegionCluster;
  /** Istio's CRDs (base) and istiod (injector, and the reader ClusterRole its chart installs). */
  istio: pulumi.Resource[];
}

export class EastWestGateway extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** Reading region → its token Secret on this cluster. */
  public readonly readerTokens: ReadonlyMap<string, k8s.core.v1.Secret>;

  constructor(name: string, args: EastWestGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:EastWestGateway", name, {}, opts);
    const { mesh, member, cluster } = args;
    const id = member.region;
    const child = { parent: this, provider: cluster.provider };
    const ns = cluster.namespaces.istio.metadata.name;
    const after = { ...child, dependsOn: args.istio };

    // No digests to give: the gateway chart runs no image of its own (its proxy is injected from istiod's global.proxy.image).
    this.release = release(`${id}-${EAST_WEST_GATEWAY.release}`, "istioGateway", ns, eastWestGatewayValues(mesh, member, cluster.region), after, {});
    customResource(`${id}-mesh-gateway-cross-network-gateway`, crossNetworkGateway(NAMESPACES.istio), after);

    const labels = { ...PART_OF, "app.kubernetes.io/name": MESH_READER.serviceAccount };
    const account = new k8s.core.v1.ServiceAccount(`${id}-${MESH_READER.serviceAccount}`, { metadata: { name: MESH_READER.serviceAccount, namespace: ns, labels } }, child);
    new k8s.rbac.v1.ClusterRoleBinding(
      `${id}-${MESH_READER.serviceAccount}`,
      {
        metadata: { name: MESH_READER.serviceAccount, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: MESH_READER.clusterRole },
        subjects: [{ kind: "ServiceAccount", name: MESH_READER.serviceAccount, namespace: ns }],
      },
      { ...after, dependsOn: [...args.istio, account] },
    );
    const tokens = new Map<string, k8s.core.v1.Secret>();
    for (const reader of mesh.members.filter((m) => m.region !== id)) {
      tokens.set(
        reader.region,
        new k8s.core.v1.Secret(
          `${id}-${readerTokenSecretName(reader.region)}`,
          {
            metadata: {
              name: readerTokenSecretName(reader.region),
              namespace: ns,
              labels: { ...labels, "meridian.dev/reader-region": reader.region },
              annotations: { "kubernetes.io/service-account.name": MESH_READER.serviceAccount },
            },
            type: "kubernetes.io/service-account-token",
          },
          { ...child, dependsOn: [account] },
        ),
      );
    }
    this.readerTokens = tokens;
    this.registerOutputs({});
  }
}

export interface RemoteSecretsArgs {
  mesh: MultiPrimaryMesh;
  member: MeshMember;
  cluster: RegionCluster;
  /** Each peer and the token Secret on the peer's cluster that this region's istiod reads with. */
  peers: { member: MeshMember; token: k8s.core.v1.Secret }[];
  /** What this region renders for istiod (`global`) and SPIRE (`global.spire.clusterName`): checked to agree. */
  rendered: { istiodGlobal: Record<string, unknown>; spireClusterName: unknown };
  /** istiod, which watches for the secrets. */
  istiod: pulumi.Resource;
}

/** The peer's API server URL: its setting, or the server of the kubeconfig secret the stack deploys it with. */
function apiServer(source: ApiServerSource): pulumi.Output<string> {
  if (source.kind === "setting") return pulumi.output(source.url);
  return new pulumi.Config("meridian").requireSecret(source.key).apply((k) => kubeconfigServer(k, `meridian:${source.key}`));
}

export class RemoteSecrets extends pulumi.ComponentResource {
  public readonly secrets: k8s.core.v1.Secret[];

  constructor(name: string, args: RemoteSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Refuse before registering anything: istiod would attribute the peers' endpoints to the wrong cluster.
    const problems = renderedMeshProblems(args.mesh, args.member, { ...args.rendered, remoteSecretKeys: args.peers.map((p) => p.member.clusterName) });
    if (problems.length > 0) throw new MultiPrimaryError(problems);
    super("meridian:pki:RemoteSecrets", name, {}, opts);
    const { member, cluster } = args;
    const ns = cluster.namespaces.istio.metadata.name;

    this.secrets = args.peers.map(({ member: peer, token }) => {
      // Kubernetes fills these in (base64); certificate-authority-data takes the CA as base64, the token is plain.
      const kubeconfig = pulumi
        .secret(pulumi.all([apiServer(peer.apiServer), token.data]))
        .apply(([server, data]) => remoteKubeconfig(peer, server, data?.["ca.crt"] ?? "", Buffer.from(data?.["token"] ?? "", "base64").toString("utf8")));
      return new k8s.core.v1.Secret(
        `${member.region}-${remoteSecretName(peer)}`,
        {
          metadata: {
            name: remoteSecretName(peer),
            namespace: ns,
            labels: { ...PART_OF, [MULTI_CLUSTER_SECRET_LABEL]: "true" },
            annotations: { [CLUSTER_ANNOTATION]: peer.clusterName },
          },
          stringData: { [peer.clusterName]: kubeconfig },
        },
        { parent: this, provider: cluster.provider, dependsOn: [args.istiod, token] },
      );
    });
    this.registerOutputs({});
  }
}
