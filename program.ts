/**
 * The Pulumi program: read the stack's `meridian:*` config, validate it into an EstateSpec, build the
 * Estate, and return the stack outputs. A config mistake throws before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Area } from "./components/context.js";
import { Estate } from "./components/estate.js";
import { buildEstateSpec } from "./model/estate.js";
import { displayPath, parseEstateConfig, stackFile } from "./stacks/load.js";

export interface EstateOutputs {
  environment: string;
  regions: string[];
  endpoints: Record<string, pulumi.Output<string>>;
  [area: string]: unknown;
}

/** `areas`: build only these over the regional clusters (component tests of one area); every area when absent. */
export function estateProgram(areas?: readonly Area[]): EstateOutputs {
  const stack = pulumi.getStack();
  const spec = buildEstateSpec(stack, parseEstateConfig(readConfigMap(), displayPath(stackFile(stack))));
  const estate = new Estate(`meridian-${stack}`, { spec, areas });
  return {
    environment: spec.environment,
    regions: spec.regions.map((r) => r.id),
    endpoints: estate.endpoints,
    ...estate.areaOutputs,
  };
}

/** The `meridian:*` config the engine handed this program, structured values parsed from their JSON. */
function readConfigMap(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith("meridian:")) continue;
    try {
      out[key] = JSON.parse(value);
    } catch {
      out[key] = value;
    }
  }
  return out;
}
