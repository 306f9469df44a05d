/**
 * TenantQuotas (`meridian:workloads:TenantQuotas`): on one regional cluster, every tenant's namespace with
 * the ResourceQuota and LimitRange model/workloads/tenants.ts renders from the tenant's multi-dimensional
 * quota. The API server then enforces what the quota service accounts: a pod that would take the
 * namespace past its cpu, memory, storage or object counts is refused at admission. A tenant with a
 * bandwidth quota also gets its EnvoyFilter (model/workloads/tenant-bandwidth.ts): the tenant pods'
 * sidecars throttle HTTP bodies to ingressKbps / egressKbps. It needs Istio's CRDs (`after`).
 *
 * The numbers come from the stack config: a bandwidth increase the quota service approves changes its
 * accounting at once and the cluster on the next `pulumi up` after the stack config carries it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { EstateSpec, Region } from "../../model/estate.js";
import { tenantObjects, type TenantObjects } from "../../model/workloads/tenants.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { customResource } from "../pki/charts.js";

export interface TenantQuotasArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** Istio's CRDs (the EnvoyFilter kind) and its injector. */
  after: pulumi.Resource[];
}

export class TenantQuotas extends pulumi.ComponentResource {
  public readonly tenants: TenantObjects[];

  constructor(name: string, args: TenantQuotasArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:workloads:TenantQuotas", name, {}, opts);
    const id = args.region.id;
    const k8sOpts = { parent: this, provider: args.cluster.provider };
    this.tenants = tenantObjects(args.spec, id);
    for (const t of this.tenants) {
      const ns = new k8s.core.v1.Namespace(`${id}-tenant-${t.tenant}`, t.namespace, k8sOpts);
      new k8s.core.v1.ResourceQuota(`${id}-tenant-${t.tenant}-quota`, t.resourceQuota, { ...k8sOpts, dependsOn: [ns] });
      new k8s.core.v1.LimitRange(`${id}-tenant-${t.tenant}-limits`, t.limitRange, { ...k8sOpts, dependsOn: [ns] });
      if (t.bandwidth) customResource(`${id}-tenant-${t.tenant}-bandwidth`, t.bandwidth, { ...k8sOpts, dependsOn: [ns, ...args.after] });
    }
    this.registerOutputs({});
  }
}
