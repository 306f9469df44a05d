/**
 * Failover TTLs: after a health check flips a record, resolvers keep the old answer for up to its TTL,
 * so every failover or health-checked record keeps its TTL at or under the limit. Proxied Cloudflare load
 * balancers fail over at the edge and are exempt.
 *
 * Decided from what preview knows: a Route 53 record answers by health or routing when it carries a
 * routing policy or a setIdentifier (both literal inputs), or names a health check at all — the check's
 * id is unknown until the check exists, but that one is set is known.
 */
import { num, present, prop, type ResourceRule } from "../rule.js";

const ROUTE53_ROUTING = [
  "failoverRoutingPolicies",
  "weightedRoutingPolicies",
  "latencyRoutingPolicies",
  "geolocationRoutingPolicies",
  "geoproximityRoutingPolicy",
  "cidrRoutingPolicy",
  "setIdentifier",
  "healthCheckId",
];

export const failoverTtl: ResourceRule = {
  kind: "resource",
  name: "meridian-failover-ttl",
  description: "Failover and health-checked DNS answers carry a short TTL.",
  enforcementLevel: "mandatory",
  check(r, config) {
    const p = r.props;
    const max = config.maxFailoverTtlSeconds;
    const tooLong = (ttl: number | undefined, what: string) => (ttl !== undefined && ttl > max ? [`${what} ttl ${ttl}s exceeds the failover limit of ${max}s`] : []);
    switch (r.type) {
      case "aws:route53/record:Record": {
        const failover = ROUTE53_ROUTING.some((k) => present(p, k));
        return failover ? tooLong(num(p, "ttl"), "health-checked record") : [];
      }
      case "gcp:dns/recordSet:RecordSet": {
        const rp = prop(p, "routingPolicy");
        const failover = present(rp, "primaryBackup") || present(rp, "healthCheck");
        return failover ? tooLong(num(p, "ttl"), "routing-policy record set") : [];
      }
      case "azure-native:trafficmanager:Profile":
        return tooLong(num(p, "dnsConfig.ttl"), "Traffic Manager dnsConfig");
      case "cloudflare:index/loadBalancer:LoadBalancer":
        return prop(p, "proxied") === true ? [] : tooLong(num(p, "ttl"), "unproxied load balancer");
      default:
        return [];
    }
  },
};
