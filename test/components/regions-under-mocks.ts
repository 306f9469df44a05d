/**
 * Test helper: a stack's regional clusters under the recording mock runtime, without the estate program, for
 * tests that build one component on top of them. Secret config keys get stand-in values (as `meridian plan`
 * gives them) and cloud values are fake.
 */
import * as pulumi from "@pulumi/pulumi";
import { RegionCluster } from "../../components/cluster/region-cluster.js";
import { runUnderMocks, type RecordedResource } from "../../components/preview/mock-runtime.js";
import { buildEstateSpec, type EstateSpec } from "../../model/estate.js";
import { secretKeys, secretStandIn } from "../../model/secrets.js";
import { parseEstateConfig, readStackConfigMap } from "../../stacks/load.js";

export interface RegionsContext {
  spec: EstateSpec;
  parent: pulumi.ComponentResource;
  clusters: Map<string, RegionCluster>;
}

/** `overrides` replaces or adds config keys (a region's kubeconfig secret, a changed setting), as plan's configOverrides. */
export async function runRegionsUnderMocks(stack: string, build: (ctx: RegionsContext) => void, overrides: Record<string, unknown> = {}): Promise<{ spec: EstateSpec; resources: RecordedResource[] }> {
  const configMap = { ...readStackConfigMap(stack), ...overrides };
  const spec = buildEstateSpec(stack, parseEstateConfig(configMap, stack));
  const keys = secretKeys(spec);
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configMap)) if (!(typeof value === "object" && value !== null && "secure" in value)) config[key] = value;
  for (const key of keys) config[`meridian:${key}`] ??= secretStandIn(spec, key);
  const run = await runUnderMocks(
    () => {
      const parent = new pulumi.ComponentResource("meridian:test:Estate", "estate", {});
      const clusters = new Map(spec.regions.map((region) => [region.id, new RegionCluster(region.id, { region, spec }, { parent })]));
      build({ spec, parent, clusters });
    },
    { stack, config, secretKeys: keys.map((k) => `meridian:${k}`), cloudValues: "fake" },
  );
  return { spec, resources: run.resources };
}
