/**
 * Kubernetes objects run on the regions' existing clusters (Meridian creates no clusters or node pools),
 * so they cost nothing of their own — except a Service of type LoadBalancer, which makes the region's
 * cloud create one: an AWS Network Load Balancer, a GCP forwarding rule, or rules and a public IP on the
 * AKS cluster's Standard load balancer. Helm releases are opaque (a chart may create volumes or load
 * balancers), so they are not priced: they show as unsupported.
 */
import { awsNetworkLoadBalancerHour, azureLoadBalancerRuleHour, azurePublicIpHour, gcpForwardingRuleHour } from "../../prices/resources.js";
import { prop, str } from "../../resources.js";
import { allMonth, notFound, type Pricer } from "./types.js";

const service: Pricer = (r, ctx) => {
  if (str(r.props, "spec.type") !== "LoadBalancer") return { free: "an in-cluster Service (no cloud load balancer)" };
  const region = labelled(r.props);
  const cloud = ctx.spec.regions.find((x) => x.id === region)?.cloud;
  const ports = Array.isArray(prop(r.props, "spec.ports")) ? (prop(r.props, "spec.ports") as unknown[]).length : 1;
  switch (cloud) {
    case "aws":
      return { category: "load-balancer", components: [allMonth("Network load balancer", awsNetworkLoadBalancerHour)] };
    case "gcp":
      return { category: "load-balancer", components: [allMonth("Forwarding rule", gcpForwardingRuleHour, ports)] };
    case "azure": {
      // A Service bound to a pre-created public IP (azure-pip-name) uses that resource, priced on its own.
      const rules = allMonth("Load balancer rule (Standard)", azureLoadBalancerRuleHour, ports);
      if (annotation(r.props, "service.beta.kubernetes.io/azure-pip-name")) return { category: "load-balancer", components: [rules] };
      return { category: "load-balancer", components: [rules, allMonth("Public IP address (static)", azurePublicIpHour)] };
    }
    default:
      return { category: "load-balancer", components: [notFound("Load balancer", "hours", 730, "the Service names no Meridian region (label meridian.dev/region)")] };
  }
};

/** Label and annotation keys contain dots, which `prop` paths cannot express. */
function metadataValue(props: Record<string, unknown>, field: "labels" | "annotations", key: string): string | undefined {
  const map = prop(props, `metadata.${field}`);
  const v = map && typeof map === "object" ? (map as Record<string, unknown>)[key] : undefined;
  return typeof v === "string" ? v : undefined;
}
const labelled = (props: Record<string, unknown>) => metadataValue(props, "labels", "meridian.dev/region");
const annotation = (props: Record<string, unknown>, key: string) => metadataValue(props, "annotations", key);

const onCluster = () => ({ free: "a Kubernetes object on the region's existing cluster" });

/** Exact pricers; `kubernetesPricer` covers every other Kubernetes kind. */
export const kubernetesPricers: Record<string, Pricer> = {
  "kubernetes:core/v1:Service": service,
};

export function kubernetesPricer(type: string): Pricer | undefined {
  if (!type.startsWith("kubernetes:")) return undefined;
  if (type.startsWith("kubernetes:helm.sh/") || type === "kubernetes:core/v1:PersistentVolumeClaim" || type === "kubernetes:apps/v1:StatefulSet") return undefined;
  return onCluster;
}
