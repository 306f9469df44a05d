/**
 * Usage: what an area consumes that costs money, as quantities — never prices. Areas (traffic,
 * replication, ...) report usage items; `model/cost` prices them against `model/prices`, once.
 * The SKU vocabulary below is the contract between the two.
 */
export type Sku =
  // Route 53
  | "route53.hostedZone"
  | "route53.queries.standard"
  | "route53.queries.latency"
  | "route53.queries.geo"
  | "route53.queries.aliasToAws"
  | "route53.healthCheck.aws"
  | "route53.healthCheck.nonAws"
  | "route53.healthCheck.optionalFeature.aws"
  | "route53.healthCheck.optionalFeature.nonAws"
  // Cloud DNS
  | "clouddns.zone"
  | "clouddns.queries"
  | "clouddns.queries.routingPolicy"
  | "clouddns.healthCheck"
  // Azure DNS and Traffic Manager
  | "azuredns.zone"
  | "azuredns.queries"
  | "trafficmanager.queries"
  | "trafficmanager.healthCheck.azure"
  | "trafficmanager.healthCheck.external"
  | "trafficmanager.healthCheck.fastInterval.azure"
  | "trafficmanager.healthCheck.fastInterval.external"
  // Cloudflare
  | "cloudflare.dns.queries"
  | "cloudflare.loadBalancer.base"
  | "cloudflare.loadBalancer.queries";

export interface UsageItem {
  /** The resource the charge belongs to (Infracost `resources[].name`), e.g. `route53:hc-aws-use1`. */
  resource: string;
  /** Pulumi type token of that resource, e.g. `aws:route53/healthCheck:HealthCheck`. */
  resourceType: string;
  /** Human name of the cost component, e.g. `Health check (HTTPS, fast interval)`. */
  component: string;
  sku: Sku;
  /** Quantity per month in the SKU's unit (queries in millions, checks and zones as counts). */
  monthlyQuantity: number;
  unit: string;
  /** True when the quantity is an estimate of usage rather than a provisioned count. */
  usageBased: boolean;
}
