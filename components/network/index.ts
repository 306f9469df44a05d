/**
 * The network area: a site-to-site VPN (`meridian:network:CrossCloudVpn`) for every region pair the
 * replication topology links across clouds, so a subscriber and its Job reach a feeder's private address.
 * What is built where, and every address, comes from model/network/vpn.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EstateSpec } from "../../model/estate.js";
import { vpnPlan, vpnRegions, type VpnPlan } from "../../model/network/vpn.js";
import type { Area } from "../context.js";
import { awsEnd, azureEnd, gcpEnd, gcpPeeringRoutes } from "./gateways.js";
import { vpnTunnels, type Ends } from "./tunnels.js";

export interface CrossCloudVpnArgs {
  spec: EstateSpec;
  plan: VpnPlan;
}

class CrossCloudVpn extends pulumi.ComponentResource {
  /** Per pair: its kind, tunnel count and the writers it carries (stack outputs). */
  public readonly pairs: { pair: string; kind: string; tunnels: number; carries: string[] }[];

  constructor(name: string, args: CrossCloudVpnArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:network:CrossCloudVpn", name, {}, opts);
    const { spec, plan } = args;
    const child = { parent: this };
    const ends: Ends = {
      aws: new Map(vpnRegions(plan, "aws").map((r) => [r.id, awsEnd(spec, r, child)])),
      gcp: new Map(vpnRegions(plan, "gcp").map((r) => [r.id, gcpEnd(spec, r, child)])),
      azure: new Map(vpnRegions(plan, "azure").map((r) => [r.id, azureEnd(spec, r, plan, child)])),
    };
    if (ends.gcp.size > 0) gcpPeeringRoutes(spec, child);
    for (const pair of plan.pairs) vpnTunnels(plan, pair, ends, child);
    this.pairs = plan.pairs.map((p) => ({ pair: p.id, kind: p.kind, tunnels: p.tunnels.length, carries: p.carries }));
    this.registerOutputs({ pairs: this.pairs });
  }
}

export const networkArea: Area = {
  name: "network",
  build(ctx) {
    const plan = vpnPlan(ctx.spec);
    if (plan.pairs.length === 0) return { vpns: [] };
    const vpn = new CrossCloudVpn(`${ctx.spec.stack}-vpn`, { spec: ctx.spec, plan }, { parent: ctx.parent });
    return { vpns: vpn.pairs };
  },
};
