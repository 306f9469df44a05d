/**
 * RegionCluster: one region's Kubernetes cluster as the estate sees it — a provider built from the
 * region's kubeconfig, the estate's namespaces, and the ingress gateway Service whose load-balancer
 * address is the region's public endpoint. Every area hangs its per-region resources off this.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { GATEWAY, NAMESPACES, kubeconfigSource, type NamespaceRole, type Region } from "../../model/estate.js";

export interface RegionClusterArgs {
  region: Region;
  environment: string;
}

export class RegionCluster extends pulumi.ComponentResource {
  public readonly region: Region;
  public readonly provider: k8s.Provider;
  public readonly namespaces: Record<NamespaceRole, k8s.core.v1.Namespace>;
  public readonly gateway: k8s.core.v1.Service;
  /** The gateway's public address (IP or hostname), known once the cloud's load balancer exists. */
  public readonly endpoint: pulumi.Output<string>;

  constructor(name: string, args: RegionClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:index:RegionCluster", name, {}, opts);
    const { region } = args;
    this.region = region;

    const source = kubeconfigSource(region);
    const config = new pulumi.Config("meridian");
    this.provider = new k8s.Provider(
      `${region.id}-k8s`,
      source.kind === "secret" ? { kubeconfig: config.requireSecret(source.key) } : { context: source.context },
      { parent: this },
    );
    const child = { parent: this, provider: this.provider };

    const labels = { "app.kubernetes.io/part-of": "meridian", "meridian.dev/region": region.id, "meridian.dev/environment": args.environment };
    const entries = (Object.keys(NAMESPACES) as NamespaceRole[]).map((role) => {
      const ns = new k8s.core.v1.Namespace(`${region.id}-${NAMESPACES[role]}`, { metadata: { name: NAMESPACES[role], labels } }, child);
      return [role, ns] as const;
    });
    this.namespaces = Object.fromEntries(entries) as Record<NamespaceRole, k8s.core.v1.Namespace>;

    this.gateway = new k8s.core.v1.Service(
      `${region.id}-${GATEWAY.name}`,
      {
        metadata: {
          name: GATEWAY.name,
          namespace: this.namespaces.gateway.metadata.name,
          labels: { ...labels, app: GATEWAY.name },
          annotations: gatewayAnnotations(region),
        },
        spec: {
          type: "LoadBalancer",
          selector: { app: GATEWAY.name },
          ports: [{ name: "https", port: GATEWAY.port, targetPort: GATEWAY.targetPort, protocol: "TCP" }],
        },
      },
      child,
    );
    this.endpoint = this.gateway.status.apply((s) => {
      const ingress = s?.loadBalancer?.ingress?.[0];
      return ingress?.ip ?? ingress?.hostname ?? "";
    });

    this.registerOutputs({ endpoint: this.endpoint });
  }
}

/** Per-cloud load-balancer annotations: a network load balancer with a public address on each cloud. */
function gatewayAnnotations(region: Region): Record<string, string> {
  switch (region.cloud) {
    case "aws":
      return {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
      };
    case "gcp":
      return { "cloud.google.com/l4-rbs": "enabled" };
    case "azure":
      return { "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz" };
  }
}
