/**
 * One regional cluster and whatever a test builds on it, under the recording mock runtime: the stack's config
 * and secrets as planStack supplies them, without evaluating every area of every region (a component test needs
 * its own resources, not the estate's).
 */
import * as pulumi from "@pulumi/pulumi";
import type { EstateContext } from "../../components/context.js";
import { RegionCluster } from "../../components/cluster/region-cluster.js";
import { runUnderMocks, type RecordedResource } from "../../components/preview/mock-runtime.js";
import { buildEstateSpec, regionById } from "../../model/estate.js";
import { secretKeys } from "../../model/secrets.js";
import { parseEstateConfig, readStackConfigMap } from "../../stacks/load.js";

export async function planRegion(stack: string, regionId: string, build: (ctx: EstateContext, cluster: RegionCluster) => void): Promise<RecordedResource[]> {
  const configMap = readStackConfigMap(stack);
  const spec = buildEstateSpec(stack, parseEstateConfig(configMap, stack));
  const keys = secretKeys(spec);
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configMap)) if (!(typeof value === "object" && value !== null && "secure" in value)) config[key] = value;
  for (const key of keys) config[`meridian:${key}`] ??= `<secret ${key}>`;
  const run = await runUnderMocks(
    () => {
      const parent = new pulumi.ComponentResource("meridian:test:Region", `${stack}-${regionId}`);
      const cluster = new RegionCluster(regionId, { region: regionById(spec, regionId), spec }, { parent });
      build({ spec, clusters: new Map([[regionId, cluster]]), pki: new Map(), parent }, cluster);
      return {};
    },
    { stack, config, secretKeys: keys.map((k) => `meridian:${k}`), cloudValues: "fake" },
  );
  return run.resources;
}
