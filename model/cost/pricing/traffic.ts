/**
 * Traffic pricers — DNS zones, health checks, Traffic Manager endpoints, Cloudflare load balancing —
 * priced by what each resource renders: a Route 53 check by the cloud of the region it probes (its
 * `meridian:region` tag) and the optional features it turns on, a Traffic Manager endpoint by its
 * endpointType (External costs more than Azure/Nested) and its profile's probing interval. Query volume
 * is usage (the stack's estimate), reported separately; records and profiles have no fixed charge.
 */
import { skuPrices } from "../../prices/dns.js";
import type { Price } from "../../prices/price.js";
import { num, prop, str } from "../../resources.js";
import { trafficPolicy } from "../../traffic/policy.js";
import type { Sku } from "../../usage.js";
import { component, notFound, type Pricer, type PricingContext } from "./types.js";

const sku = (s: Sku): Price => skuPrices[s][0]!.price;

/** Route 53 zones: the first 25 of the account at one rate, later ones cheaper (walked in plan order). */
const route53Zone: Pricer = (r, ctx) => {
  const index = ctx.resources.filter((x) => x.type === r.type).indexOf(r);
  const band = skuPrices["route53.hostedZone"][index < 25 ? 0 : 1]!.price;
  return { category: "dns", components: [component("Hosted zone", "months", 1, band)] };
};

function regionCloud(ctx: PricingContext, id: string | undefined): string | undefined {
  return ctx.spec.regions.find((x) => x.id === id)?.cloud;
}

const route53HealthCheck: Pricer = (r, ctx) => {
  const type = str(r.props, "type") ?? "";
  // CALCULATED checks probe nothing; AWS bills them as basic checks of an AWS endpoint.
  const onAws = type === "CALCULATED" || regionCloud(ctx, str(r.props, "tags.meridian:region")) === "aws";
  const features = [
    /^HTTPS/.test(type) && "HTTPS",
    /STR_MATCH$/.test(type) && "string matching",
    num(r.props, "requestInterval") === 10 && "fast interval",
    prop(r.props, "measureLatency") === true && "latency measurement",
  ].filter((f): f is string => typeof f === "string");
  const where = onAws ? "AWS" : "non-AWS";
  const components = [component(`Health check (${where} endpoint)`, "months", 1, sku(onAws ? "route53.healthCheck.aws" : "route53.healthCheck.nonAws"))];
  if (features.length) {
    components.push(
      component(`Optional features (${features.join(", ")})`, "months", features.length, sku(onAws ? "route53.healthCheck.optionalFeature.aws" : "route53.healthCheck.optionalFeature.nonAws")),
    );
  }
  return { category: "health-check", components };
};

const trafficManagerEndpoint: Pricer = (r, ctx) => {
  const type = str(r.props, "endpointType") ?? str(r.props, "type")?.replace(/^Microsoft\.Network\/trafficManagerProfiles\//, "");
  if (type === undefined) return { category: "health-check", components: [notFound("Health check", "months", 1, "endpointType is not a known input")] };
  const external = type === "ExternalEndpoints";
  const profile = ctx.resources.find((x) => x.type === "azure-native:trafficmanager:Profile" && str(x.props, "profileName") === str(r.props, "profileName"));
  const fast = num(profile?.props, "monitorConfig.intervalInSeconds") === 10;
  const kind = external ? "external" : "azure";
  const components = [component(`Basic health check (${type})`, "months", 1, sku(`trafficmanager.healthCheck.${kind}`))];
  if (fast) components.push(component("Fast interval health checks add-on", "months", 1, sku(`trafficmanager.healthCheck.fastInterval.${kind}`)));
  return { category: "health-check", components };
};

/** Cloud DNS routing-policy health checks bill per probed external endpoint: one per traffic target. */
const gcpHealthCheck: Pricer = (_r, ctx) => ({
  category: "health-check",
  components: [component("Health-checked external endpoints", "endpoints", trafficPolicy(ctx.spec).targets.length, sku("clouddns.healthCheck"))],
});

/** Cloudflare Load Balancing: the subscription (two origins included) on the load balancer, plus each further origin. */
const cloudflareLoadBalancer: Pricer = (_r, ctx) => {
  const origins = new Set(
    ctx.resources
      .filter((x) => x.type === "cloudflare:index/loadBalancerPool:LoadBalancerPool")
      .flatMap((pool) => (Array.isArray(prop(pool.props, "origins")) ? (prop(pool.props, "origins") as unknown[]) : []))
      .map((o) => str(o, "name") ?? JSON.stringify(o)),
  );
  const base = sku("cloudflare.loadBalancer.base");
  const components = [component("Load balancing (2 origins included)", "months", 1, base)];
  if (origins.size > 2) components.push(component("Additional origins", "origins", origins.size - 2, base));
  return { category: "load-balancer", components };
};

const usageOnly = (what: string) => () => ({ free: `no fixed charge; ${what} is usage, estimated from the stack` });

export const trafficPricers: Record<string, Pricer> = {
  "aws:route53/zone:Zone": route53Zone,
  "aws:route53/record:Record": usageOnly("each query"),
  "aws:route53/healthCheck:HealthCheck": route53HealthCheck,
  "gcp:dns/managedZone:ManagedZone": () => ({ category: "dns", components: [component("Managed zone", "months", 1, sku("clouddns.zone"))] }),
  "gcp:dns/recordSet:RecordSet": usageOnly("each query"),
  "gcp:compute/healthCheck:HealthCheck": gcpHealthCheck,
  "azure-native:dns:Zone": () => ({ category: "dns", components: [component("Hosted zone", "months", 1, sku("azuredns.zone"))] }),
  "azure-native:dns:RecordSet": usageOnly("each query"),
  "azure-native:trafficmanager:Profile": usageOnly("each DNS query"),
  "azure-native:trafficmanager:Endpoint": trafficManagerEndpoint,
  "cloudflare:index/zone:Zone": () => ({ free: "DNS on Cloudflare's non-Enterprise plans is free; the zone's plan is bought outside Pulumi" }),
  "cloudflare:index/dnsRecord:DnsRecord": () => ({ free: "Cloudflare DNS records are free" }),
  "cloudflare:index/zoneDnsSettings:ZoneDnsSettings": () => ({ free: "a zone setting (multi-provider DNS); no charge of its own" }),
  "cloudflare:index/loadBalancer:LoadBalancer": cloudflareLoadBalancer,
  "cloudflare:index/loadBalancerPool:LoadBalancerPool": () => ({ free: "billed through the load balancer's subscription (origins counted there)" }),
  "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor": () => ({ free: "included in the load-balancing subscription" }),
};
