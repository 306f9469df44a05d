/**
 * Test helper: one part of the estate evaluated under the recording mock runtime, without the whole prod
 * program — the regional clusters, optionally the traffic area (the DNS providers' health checks), and the
 * RegionGateway of the regions asked for. The PKI area's resources the gateway waits for are stood in by
 * one placeholder resource per region.
 */
import * as pulumi from "@pulumi/pulumi";
import { RegionCluster } from "../../../components/cluster/region-cluster.js";
import type { EstateContext } from "../../../components/context.js";
import { trafficArea } from "../../../components/dns/index.js";
import { runUnderMocks, type RecordedResource } from "../../../components/preview/mock-runtime.js";
import { RegionGateway } from "../../../components/workloads/gateway.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { secretKeys } from "../../../model/secrets.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

export interface PartialPlan {
  spec: EstateSpec;
  resources: RecordedResource[];
}

export async function planGateways(stack: string, opts: { gateways: string[]; traffic?: boolean }): Promise<PartialPlan> {
  const configMap = readStackConfigMap(stack);
  const spec = buildEstateSpec(stack, parseEstateConfig(configMap, stack));
  const keys = secretKeys(spec);
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configMap)) if (!(typeof value === "object" && value !== null && "secure" in value)) config[key] = value;
  for (const key of keys) config[`meridian:${key}`] ??= `<secret ${key}>`;
  const run = await runUnderMocks(
    () => {
      const parent = new pulumi.ComponentResource("meridian:test:Estate", "estate", {});
      const clusters = new Map(spec.regions.map((region) => [region.id, new RegionCluster(region.id, { region, spec }, { parent })]));
      const ctx: EstateContext = { spec, clusters, pki: new Map(), parent };
      if (opts.traffic) trafficArea.build(ctx);
      for (const id of opts.gateways) {
        const cluster = clusters.get(id)!;
        const pki = new pulumi.ComponentResource("meridian:test:Pki", `${id}-pki`, {}, { parent });
        new RegionGateway(`${id}-gateway`, { spec, region: cluster.region, cluster, after: [pki] }, { parent });
      }
    },
    { stack, config, secretKeys: keys.map((k) => `meridian:${k}`), cloudValues: "fake" },
  );
  return { spec, resources: run.resources };
}
