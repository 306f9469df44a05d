/**
 * NetworkPolicies (`meridian:security:NetworkPolicies`): one regional cluster's default-deny and allow rules,
 * rendered one to one from model/security/network.ts. Each policy waits for its namespace.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type NamespaceRole } from "../../model/estate.js";
import { regionNetworkPolicies, type RegionNetworkInputs } from "../../model/security/network.js";
import type { RegionCluster } from "../cluster/region-cluster.js";

export interface NetworkPoliciesArgs {
  cluster: RegionCluster;
  inputs: RegionNetworkInputs;
}

export class NetworkPolicies extends pulumi.ComponentResource {
  public readonly policies: k8s.networking.v1.NetworkPolicy[];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:security:NetworkPolicies", name, {}, opts);
    const { cluster } = args;
    const roleOf = new Map((Object.keys(NAMESPACES) as NamespaceRole[]).map((r) => [NAMESPACES[r] as string, r]));
    this.policies = regionNetworkPolicies(args.inputs).map((p) => {
      const role = roleOf.get(p.metadata.namespace)!;
      return new k8s.networking.v1.NetworkPolicy(`${cluster.region.id}-${p.metadata.namespace}-${p.metadata.name}`, p, {
        parent: this,
        provider: cluster.provider,
        dependsOn: [cluster.namespaces[role]],
      });
    });
    this.registerOutputs({});
  }
}
