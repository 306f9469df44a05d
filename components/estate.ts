/**
 * Estate (`meridian:index:Estate`): the whole blueprint for one stack. It creates one RegionCluster per
 * region, then lets each area (traffic, PKI, replication, time, workloads) add its components.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EstateSpec } from "../model/estate.js";
import { areas as allAreas } from "./areas.js";
import { RegionCluster } from "./cluster/region-cluster.js";
import type { Area, EstateContext } from "./context.js";

export interface EstateArgs {
  spec: EstateSpec;
  /** The areas to build over the regional clusters; every area by default (a test of one area names it). */
  areas?: readonly Area[];
}

export class Estate extends pulumi.ComponentResource {
  public readonly clusters: Map<string, RegionCluster>;
  /** Region id → public endpoint of its ingress gateway. */
  public readonly endpoints: Record<string, pulumi.Output<string>>;
  /** Stack outputs contributed by every area, keyed by area name. */
  public readonly areaOutputs: Record<string, Record<string, pulumi.Input<unknown>>>;

  constructor(name: string, args: EstateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:index:Estate", name, {}, opts);
    const { spec, areas = allAreas } = args;
    this.clusters = new Map(spec.regions.map((region) => [region.id, new RegionCluster(region.id, { region, spec }, { parent: this })]));
    this.endpoints = Object.fromEntries([...this.clusters].map(([id, c]) => [id, c.endpoint]));
    const ctx: EstateContext = { spec, clusters: this.clusters, pki: new Map(), parent: this };
    this.areaOutputs = Object.fromEntries(areas.map((area) => [area.name, area.build(ctx)]));
    this.registerOutputs({ endpoints: this.endpoints, ...this.areaOutputs });
  }
}
