/**
 * Kubernetes objects run on the regions' existing clusters (Meridian creates no clusters or node pools),
 * so they cost nothing of their own — except a Service of type LoadBalancer, which makes the region's
 * cloud create one: an AWS Network Load Balancer, a GCP forwarding rule, or rules and a public IP on the
 * AKS cluster's Standard load balancer. Helm releases are opaque (a chart may create volumes or load
 * balancers), so they are not priced — they show as unsupported — except the east-west gateway's
 * (model/mesh/multi-primary.ts), whose chart makes exactly one LoadBalancer Service with the four
 * network-gateway ports: priced as that Service, by the same function.
 */
import type { Cloud } from "../../config/vocabulary.js";
import { EAST_WEST_GATEWAY, REGION_LABEL } from "../../mesh/multi-primary.js";
import { awsNetworkLoadBalancerHour, azureLoadBalancerRuleHour, azurePublicIpHour, gcpForwardingRuleHour } from "../../prices/resources.js";
import { prop, str } from "../../resources.js";
import { allMonth, notFound, type Pricer, type Pricing } from "./types.js";

/**
 * What a LoadBalancer Service costs its region's cloud: an NLB (AWS), a forwarding rule per port (GCP), a rule per
 * port plus a static public IP unless the Service is bound to a pre-created one (Azure).
 */
function loadBalancer(cloud: Cloud | undefined, ports: number, boundToPublicIp: boolean): Pricing {
  switch (cloud) {
    case "aws":
      return { category: "load-balancer", components: [allMonth("Network load balancer", awsNetworkLoadBalancerHour)] };
    case "gcp":
      return { category: "load-balancer", components: [allMonth("Forwarding rule", gcpForwardingRuleHour, ports)] };
    case "azure": {
      // A Service bound to a pre-created public IP (azure-pip-name) uses that resource, priced on its own.
      const rules = allMonth("Load balancer rule (Standard)", azureLoadBalancerRuleHour, ports);
      if (boundToPublicIp) return { category: "load-balancer", components: [rules] };
      return { category: "load-balancer", components: [rules, allMonth("Public IP address (static)", azurePublicIpHour)] };
    }
    default:
      return { category: "load-balancer", components: [notFound("Load balancer", "hours", 730, `the Service names no Meridian region (label ${REGION_LABEL})`)] };
  }
}

const cloudOf = (ctx: { spec: { regions: readonly { id: string; cloud: Cloud }[] } }, region: string | undefined) => ctx.spec.regions.find((x) => x.id === region)?.cloud;

const service: Pricer = (r, ctx) => {
  if (str(r.props, "spec.type") !== "LoadBalancer") return { free: "an in-cluster Service (no cloud load balancer)" };
  const ports = Array.isArray(prop(r.props, "spec.ports")) ? (prop(r.props, "spec.ports") as unknown[]).length : 1;
  return loadBalancer(cloudOf(ctx, labelled(r.props)), ports, annotation(r.props, "service.beta.kubernetes.io/azure-pip-name") !== undefined);
};

/**
 * The east-west gateway's release: the `gateway` chart with `networkGateway` renders one LoadBalancer Service
 * publishing EAST_WEST_GATEWAY.servicePorts (templates/service.yaml), labelled with the release's `labels`, which
 * carry the region. Any other release stays unsupported.
 */
const helmRelease: Pricer = (r, ctx) => {
  const values = prop(r.props, "values");
  const v = values && typeof values === "object" ? (values as { networkGateway?: unknown; labels?: Record<string, unknown>; service?: { type?: unknown } }) : {};
  if (str(r.props, "chart") !== "gateway" || typeof v.networkGateway !== "string") return { unsupported: "a Helm release: its chart's resources are opaque to the plan" };
  if ((v.service?.type ?? "LoadBalancer") !== "LoadBalancer") return { free: "an east-west gateway without a cloud load balancer" };
  const region = v.labels?.[REGION_LABEL];
  return loadBalancer(cloudOf(ctx, typeof region === "string" ? region : undefined), EAST_WEST_GATEWAY.servicePorts.length, false);
};

/** Label and annotation keys contain dots, which `prop` paths cannot express. */
function metadataValue(props: Record<string, unknown>, field: "labels" | "annotations", key: string): string | undefined {
  const map = prop(props, `metadata.${field}`);
  const v = map && typeof map === "object" ? (map as Record<string, unknown>)[key] : undefined;
  return typeof v === "string" ? v : undefined;
}
const labelled = (props: Record<string, unknown>) => metadataValue(props, "labels", REGION_LABEL);
const annotation = (props: Record<string, unknown>, key: string) => metadataValue(props, "annotations", key);

const onCluster = () => ({ free: "a Kubernetes object on the region's existing cluster" });

/** Exact pricers; `kubernetesPricer` covers every other Kubernetes kind. */
export const kubernetesPricers: Record<string, Pricer> = {
  "kubernetes:core/v1:Service": service,
  "kubernetes:helm.sh/v3:Release": helmRelease,
};

export function kubernetesPricer(type: string): Pricer | undefined {
  if (!type.startsWith("kubernetes:")) return undefined;
  if (type.startsWith("kubernetes:helm.sh/") || type === "kubernetes:core/v1:PersistentVolumeClaim" || type === "kubernetes:apps/v1:StatefulSet") return undefined;
  return onCluster;
}
