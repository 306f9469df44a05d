/**
 * The security area: per regional cluster, the NetworkPolicies that confine every Meridian namespace
 * (model/security/network.ts). Namespace labels (injection, Pod Security) are the cluster's own
 * (components/cluster); mesh authorization is the PKI area's (components/pki/mesh-tls.ts).
 */
import { regionWorkloads } from "../../model/workloads/spec.js";
import { timeHierarchy } from "../../model/time/hierarchy.js";
import type { Area } from "../context.js";
import { NetworkPolicies } from "./network-policies.js";

export const securityArea: Area = {
  name: "security",
  build(ctx) {
    const grandmaster = new Map(timeHierarchy(ctx.spec).map((p) => [p.region, p.grandmaster !== null]));
    const counts: Record<string, number> = {};
    for (const [id, cluster] of ctx.clusters) {
      const stores = Object.fromEntries(regionWorkloads(ctx.spec, id).map((w) => [w.service.name, w.stores]));
      const np = new NetworkPolicies(`${id}-network-policies`, { cluster, inputs: { cloud: cluster.region.cloud, stores, grandmaster: grandmaster.get(id) ?? false } }, { parent: ctx.parent });
      counts[id] = np.policies.length;
    }
    return { networkPolicies: counts };
  },
};
