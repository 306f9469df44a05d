/**
 * The traffic area: the apex zone on every provider of the hierarchy and the GSLB policy for the
 * service host, from the one TrafficPolicy the model derives. Region endpoints are the regional
 * clusters' gateway addresses.
 */
import type { Area } from "../context.js";
import { trafficPolicy } from "../../model/traffic/policy.js";
import { timings } from "../../model/traffic/timing.js";
import { ZoneHierarchy } from "./zone-hierarchy.js";

export const trafficArea: Area = {
  name: "traffic",
  build(ctx) {
    const policy = trafficPolicy(ctx.spec);
    const endpoints = Object.fromEntries([...ctx.clusters].map(([id, cluster]) => [id, cluster.endpoint]));
    const hierarchy = new ZoneHierarchy("dns", { policy, endpoints }, { parent: ctx.parent });
    return {
      fqdn: policy.fqdn,
      routing: policy.mode,
      providers: policy.providers,
      delegation: hierarchy.delegation,
      nameServers: hierarchy.nameServers,
      resources: hierarchy.resourceCount,
      rtoSeconds: Object.fromEntries(timings(policy).map((t) => [t.provider, t.rtoSeconds])),
    };
  },
};
