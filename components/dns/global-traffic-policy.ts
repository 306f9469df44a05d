/**
 * GlobalTrafficPolicy (`meridian:dns:GlobalTrafficPolicy`): the GSLB policy of one provider — health
 * checks, routed records, profiles or load balancers for the service host — rendered from the model's
 * TrafficPolicy into a zone the ZoneHierarchy created. One instance per provider in the hierarchy, so
 * every provider answers with the same weights, TTL and health-check numbers.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DnsProvider } from "../../model/config/traffic.js";
import type { TrafficPolicy } from "../../model/traffic/policy.js";
import { BACKENDS } from "./backends.js";
import type { LoadBalancerAlias, ZoneHandle } from "./backend.js";

export interface GlobalTrafficPolicyArgs {
  provider: DnsProvider;
  policy: TrafficPolicy;
  zone: ZoneHandle;
  /** Region id → the region gateway's public address (`RegionCluster.endpoint`). */
  endpoints: Record<string, pulumi.Output<string>>;
  /** Region id → the AWS regions' gateway load balancers (Route 53 aliases them). */
  aliases?: Record<string, LoadBalancerAlias>;
}

export class GlobalTrafficPolicy extends pulumi.ComponentResource {
  public readonly provider: DnsProvider;
  public readonly entryPoint: pulumi.Output<string>;
  /** Region id → ids of the checks/monitors that watch it. */
  public readonly checks: Record<string, pulumi.Output<string>[]>;

  constructor(name: string, args: GlobalTrafficPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:dns:GlobalTrafficPolicy", name, {}, opts);
    const missing = args.policy.targets.filter((t) => args.endpoints[t.id] === undefined).map((t) => t.id);
    if (missing.length > 0) throw new Error(`GlobalTrafficPolicy ${name}: no endpoint for region(s) ${missing.join(", ")}`);
    this.provider = args.provider;
    const render = BACKENDS[args.provider].traffic(this, args.zone, args.policy, args.endpoints, args.aliases);
    this.entryPoint = render.entryPoint;
    this.checks = render.checks;
    this.registerOutputs({ provider: this.provider, entryPoint: this.entryPoint });
  }
}
