/**
 * Test helper: one part of the estate evaluated under the recording mock runtime, without the whole prod
 * program — the regional clusters, optionally the traffic area (the DNS providers' health checks), and the
 * RegionGateway of the regions asked for. The PKI area's resources the gateway waits for are stood in by
 * one placeholder resource per region.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EstateContext } from "../../../components/context.js";
import { trafficArea } from "../../../components/dns/index.js";
import type { RecordedResource } from "../../../components/preview/mock-runtime.js";
import { RegionGateway } from "../../../components/workloads/gateway.js";
import type { EstateSpec } from "../../../model/estate.js";
import { runRegionsUnderMocks } from "../regions-under-mocks.js";

export interface PartialPlan {
  spec: EstateSpec;
  resources: RecordedResource[];
}

export async function planGateways(stack: string, opts: { gateways: string[]; traffic?: boolean }): Promise<PartialPlan> {
  return runRegionsUnderMocks(stack, ({ spec, parent, clusters }) => {
    const ctx: EstateContext = { spec, clusters, pki: new Map(), parent };
    if (opts.traffic) trafficArea.build(ctx);
    for (const id of opts.gateways) {
      const cluster = clusters.get(id)!;
      const pki = new pulumi.ComponentResource("meridian:test:Pki", `${id}-pki`, {}, { parent });
      new RegionGateway(`${id}-gateway`, { spec, region: cluster.region, cluster, after: [pki] }, { parent });
    }
  });
}
