/**
 * TimeFabric (`meridian:time:TimeFabric`): one region's time infrastructure, rendered from the time
 * hierarchy — chrony and the node time agent on every node, linuxptp where a PTP network exists, the
 * grandmaster (relay, or the simulator in local) and clock-health monitoring. It reads every number and source list from model/time; nothing is decided here.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RegionTimePlan } from "../../model/time/hierarchy.js";
import type { TimeConfig } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { chronyDaemonSet } from "./chrony.js";
import { grandmaster } from "./grandmaster.js";
import { linuxptpDaemonSet } from "./linuxptp.js";
import { clockMonitoring } from "./rules.js";
import type { RegionScope } from "./labels.js";

export interface TimeFabricArgs {
  plan: RegionTimePlan;
  time: TimeConfig;
  cluster: RegionCluster;
  /** The runtime image chronyd, linuxptp, the node time agent and the grandmaster run from. */
  runtimeImage: string;
  /** The mesh's trust domain: the grandmaster's own SPIFFE ID, which its sidecar's XFCC must name. */
  trustDomain: string;
}

export class TimeFabric extends pulumi.ComponentResource {
  /** The NTP endpoint nodes use for the grandmaster, or null when disabled. */
  public readonly grandmasterHost: string | null;
  public readonly sources: string[];
  public readonly smear: string;

  constructor(name: string, args: TimeFabricArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:time:TimeFabric", name, {}, opts);
    const { plan, time, cluster } = args;
    const scope: RegionScope = { region: plan.region, namespace: cluster.namespaces.time.metadata.name, provider: cluster.provider, parent: this };
    chronyDaemonSet(scope, plan, args.runtimeImage);
    if (plan.ptpNetwork !== null) linuxptpDaemonSet(scope, plan.ptpNetwork, args.runtimeImage);
    if (plan.grandmaster !== null) grandmaster(scope, plan.grandmaster, args.runtimeImage, args.trustDomain);
    clockMonitoring(scope, time, plan.grandmaster !== null);
    this.grandmasterHost = plan.grandmaster ? `${plan.grandmaster.host}:${plan.grandmaster.port}` : null;
    this.sources = plan.sources.map((s) => `${s.directive} ${s.target}`);
    this.smear = plan.smear;
    this.registerOutputs({ grandmasterHost: this.grandmasterHost, sources: this.sources, smear: this.smear });
  }
}
