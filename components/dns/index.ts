/**
 * The traffic area: the apex zone on every provider of the hierarchy and the GSLB policy for the
 * service host, from the one TrafficPolicy the model derives. Region endpoints are the regional
 * clusters' gateway addresses; the AWS regions' gateway load balancers are also passed as alias targets.
 */
import type { Area, EstateContext } from "../context.js";
import { nlbHostedZoneId, route53AliasesGateway } from "../../model/traffic/load-balancers.js";
import type { LoadBalancerAlias } from "./backend.js";
import { trafficPolicy } from "../../model/traffic/policy.js";
import { timings } from "../../model/traffic/timing.js";
import { ZoneHierarchy } from "./zone-hierarchy.js";

/** The AWS regions' gateway NLBs: the LoadBalancer Service's published hostname and the region's NLB zone. */
function gatewayAliases(ctx: EstateContext): Record<string, LoadBalancerAlias> {
  const out: Record<string, LoadBalancerAlias> = {};
  for (const [id, cluster] of ctx.clusters) {
    if (!route53AliasesGateway(cluster.region)) continue;
    const zoneId = nlbHostedZoneId(cluster.region.region);
    // Refused at load (stacks/semantic.ts) before the program runs; this guards programs built another way.
    if (zoneId === undefined) throw new Error(`region ${id}: no known NLB hosted zone for ${cluster.region.region}`);
    out[id] = { name: cluster.gateway.status.loadBalancer.ingress[0]!.hostname, zoneId };
  }
  return out;
}

export const trafficArea: Area = {
  name: "traffic",
  build(ctx) {
    const policy = trafficPolicy(ctx.spec);
    const endpoints = Object.fromEntries([...ctx.clusters].map(([id, cluster]) => [id, cluster.endpoint]));
    // Only Route 53 aliases load balancers; the other providers take the gateways' static addresses.
    const aliases = policy.providers.includes("route53") ? gatewayAliases(ctx) : undefined;
    const hierarchy = new ZoneHierarchy("dns", { policy, endpoints, ...(aliases ? { aliases } : {}) }, { parent: ctx.parent });
    return {
      fqdn: policy.fqdn,
      routing: policy.mode,
      providers: policy.providers,
      delegation: hierarchy.delegation,
      nameServers: hierarchy.nameServers,
      dnssec: policy.dnssec,
      /** What the registrar puts in the parent zone for a signed hierarchy (`meridian dns ds` formats it). */
      ds: hierarchy.ds,
      resources: hierarchy.resourceCount,
      rtoSeconds: Object.fromEntries(timings(policy).map((t) => [t.provider, t.rtoSeconds])),
    };
  },
};
