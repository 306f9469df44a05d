/**
 * RegionCluster: one region's Kubernetes cluster as the estate sees it — a provider built from the
 * region's kubeconfig, the estate's namespaces (labelled for sidecar injection and Pod Security Admission from
 * model/security/posture.ts), and the ingress gateway Service whose load-balancer
 * address is the region's public endpoint. Every area hangs its per-region resources off this.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { GATEWAY, NAMESPACES, kubeconfigSource, type EstateSpec, type NamespaceRole, type Region } from "../../model/estate.js";
import { namespaceSecurityLabels } from "../../model/security/posture.js";
import { NETWORK_LABEL, meshMember } from "../../model/mesh/multi-primary.js";
import { publicAddress, type PublicAddress } from "./public-address.js";

export interface RegionClusterArgs {
  region: Region;
  spec: EstateSpec;
}

export class RegionCluster extends pulumi.ComponentResource {
  public readonly region: Region;
  public readonly provider: k8s.Provider;
  public readonly namespaces: Record<NamespaceRole, k8s.core.v1.Namespace>;
  public readonly gateway: k8s.core.v1.Service;
  /** The gateway's static public IP address (created before the load balancer, so DNS can publish it). */
  public readonly endpoint: pulumi.Output<string>;
  public readonly address: PublicAddress;

  constructor(name: string, args: RegionClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:index:RegionCluster", name, {}, opts);
    const { region } = args;
    this.region = region;

    const source = kubeconfigSource(region);
    const config = new pulumi.Config("meridian");
    this.provider = new k8s.Provider(`${region.id}-k8s`, source.kind === "secret" ? { kubeconfig: config.requireSecret(source.key) } : { context: source.context }, { parent: this });
    const child = { parent: this, provider: this.provider };

    const labels = { "app.kubernetes.io/part-of": "meridian", "meridian.dev/region": region.id, "meridian.dev/environment": args.spec.environment };
    // In a multi-cluster mesh, Istio takes the cluster's default network from its system namespace's label. The east-west
    // gateway runs there too, injected (gateway template) because its chart labels its pods sidecar.istio.io/inject=true,
    // which istiod's object selector honours only in a namespace without an istio-injection label; no other pod there has it.
    const member = meshMember(args.spec, region.id);
    const securityLabels = (role: NamespaceRole): Record<string, string> =>
      member && role === "istio"
        ? { ...Object.fromEntries(Object.entries(namespaceSecurityLabels(role)).filter(([k]) => k !== "istio-injection")), [NETWORK_LABEL]: member.network }
        : namespaceSecurityLabels(role);
    const entries = (Object.keys(NAMESPACES) as NamespaceRole[]).map((role) => {
      const ns = new k8s.core.v1.Namespace(`${region.id}-${NAMESPACES[role]}`, { metadata: { name: NAMESPACES[role], labels: { ...labels, ...securityLabels(role) } } }, child);
      return [role, ns] as const;
    });
    this.namespaces = Object.fromEntries(entries) as Record<NamespaceRole, k8s.core.v1.Namespace>;

    this.address = publicAddress(args.spec, region, { parent: this });
    this.gateway = new k8s.core.v1.Service(
      `${region.id}-${GATEWAY.name}`,
      {
        metadata: {
          name: GATEWAY.name,
          namespace: this.namespaces.gateway.metadata.name,
          labels: { ...labels, app: GATEWAY.name },
          annotations: this.address.annotations,
        },
        spec: {
          type: "LoadBalancer",
          selector: { app: GATEWAY.name },
          ports: [{ name: "https", port: GATEWAY.port, targetPort: GATEWAY.targetPort, protocol: "TCP" }],
        },
      },
      child,
    );
    this.endpoint = this.address.ip;

    this.registerOutputs({ endpoint: this.endpoint });
  }
}
