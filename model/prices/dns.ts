/**
 * DNS, health-check, Traffic Manager and Cloudflare prices, keyed by the `Sku` vocabulary of
 * model/usage.ts so every SKU an area can report has exactly one price (the `Record<Sku, …>` type makes
 * a missing one a compile error). Counted SKUs with volume bands (Route 53 zones) carry tiers.
 */
import type { Sku } from "../usage.js";
import { price, type Tier } from "./price.js";

const AWS = "AWS Route 53 pricing";
const GCP = "GCP Cloud DNS pricing";
const AZ = "Infracost golden tests (Azure DNS / Traffic Manager)";
const CF = "Cloudflare docs";

const flat = (usd: number, unit: string, source: string, date: string, opts: { verified?: boolean; note?: string } = {}): Tier[] => [
  { bandGB: Infinity, label: "", price: price(usd, unit, source, date, opts) },
];

/** Price tiers per SKU (`bandGB` is the band size in the SKU's own unit). */
export const skuPrices: Record<Sku, Tier[]> = {
  "route53.hostedZone": [
    { bandGB: 25, label: "first 25", price: price(0.5, "zone-month", AWS, "2026-09") },
    { bandGB: Infinity, label: "over 25", price: price(0.1, "zone-month", AWS, "2026-09") },
  ],
  "route53.queries.standard": flat(0.4, "1M queries", AWS, "2026-09"),
  "route53.queries.latency": flat(0.6, "1M queries", AWS, "2026-09"),
  "route53.queries.geo": flat(0.7, "1M queries", AWS, "2026-09"),
  // "Route 53 doesn't charge for alias queries to AWS resources" (Developer Guide, "Choosing between alias
  // and non-alias records"); the pricing page names ELB load balancers among them. An alias to another
  // record of the same zone is not an AWS resource: its queries are charged.
  "route53.queries.aliasToAws": flat(0, "1M queries", "AWS Route 53 Developer Guide (alias vs non-alias records)", "2026-12", {
    note: "queries answered by an alias record to an AWS resource (the gateway NLB) are free",
  }),
  "route53.healthCheck.aws": flat(0.5, "check-month", AWS, "2026-09"),
  "route53.healthCheck.nonAws": flat(0.75, "check-month", AWS, "2026-09"),
  // Optional features (HTTPS, string matching, fast interval, latency measurement): each one, per check.
  "route53.healthCheck.optionalFeature.aws": flat(1.0, "feature-month", AWS, "2026-09"),
  "route53.healthCheck.optionalFeature.nonAws": flat(2.0, "feature-month", AWS, "2026-09"),
  "clouddns.zone": flat(0.2, "zone-month", GCP, "2026-09", { note: "first 25 zones" }),
  "clouddns.queries": flat(0.4, "1M queries", GCP, "2026-09"),
  "clouddns.queries.routingPolicy": flat(0.7, "1M queries", GCP, "2026-09"),
  "clouddns.healthCheck": flat(4.0, "check-month", GCP, "2026-09", {
    verified: false,
    note: "external health checks $2-4/month; priced at the upper bound",
  }),
  "azuredns.zone": flat(0.5, "zone-month", AZ, "2024-07"),
  "azuredns.queries": flat(0.4, "1M queries", AZ, "2024-07"),
  "trafficmanager.queries": flat(0.54, "1M queries", AZ, "2024-07"),
  "trafficmanager.healthCheck.azure": flat(0.36, "endpoint-month", AZ, "2024-07"),
  "trafficmanager.healthCheck.external": flat(0.54, "endpoint-month", AZ, "2024-07"),
  "trafficmanager.healthCheck.fastInterval.azure": flat(1.0, "endpoint-month", AZ, "2024-07"),
  "trafficmanager.healthCheck.fastInterval.external": flat(2.0, "endpoint-month", AZ, "2024-07"),
  "cloudflare.dns.queries": flat(0, "1M queries", CF, "2026-11", { note: "free on non-Enterprise plans" }),
  "cloudflare.loadBalancer.base": flat(5.0, "load-balancer-month", CF, "2018-01", {
    verified: false,
    note: "price no longer published; 2018 list price for 2 origins",
  }),
  "cloudflare.loadBalancer.queries": flat(1.0, "1M queries", CF, "2018-01", {
    verified: false,
    note: "2018 list price $0.50 per 500k queries",
  }),
};
