/**
 * An offline plan: the real estate program evaluated under the recording mock runtime for one stack
 * file. Config errors surface exactly as `pulumi up` would raise them, before any resource is registered.
 */
import { estateProgram } from "../../program.js";
import { areas } from "../areas.js";
import { buildEstateSpec } from "../../model/estate.js";
import { secretKeys, secretStandIn } from "../../model/secrets.js";
import { displayPath, parseEstateConfig, readStackConfigMap, stackFile } from "../../stacks/load.js";
import { runUnderMocks, type RecordedResource } from "./mock-runtime.js";

export interface Plan {
  stack: string;
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
}

export interface PlanOptions {
  cloudValues?: "computed" | "fake";
  /** Extra or replacement config keys (tests use this to vary one setting). */
  configOverrides?: Record<string, unknown>;
  /** Build only these areas over the regional clusters (a test of one area); every area by default. */
  areas?: readonly string[];
}

export async function planStack(stack: string, options: PlanOptions = {}): Promise<Plan> {
  const only = options.areas && selectAreas(options.areas);
  const configMap = { ...readStackConfigMap(stack), ...options.configOverrides };
  // Validate first (throws StackConfigError naming the file), then supply placeholders for secrets the
  // stack file does not carry in plain text, as a preview without the passphrase would.
  const spec = buildEstateSpec(stack, parseEstateConfig(configMap, displayPath(stackFile(stack))));
  const secrets = secretKeys(spec);
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configMap)) {
    if (typeof value === "object" && value !== null && "secure" in value) continue;
    config[key] = value;
  }
  for (const key of secrets) config[`meridian:${key}`] ??= secretStandIn(spec, key);
  const run = await runUnderMocks(() => estateProgram(only), {
    stack,
    config,
    secretKeys: secrets.map((k) => `meridian:${k}`),
    cloudValues: options.cloudValues ?? "computed",
  });
  return { stack, resources: run.resources, outputs: run.outputs as Record<string, unknown> };
}

function selectAreas(names: readonly string[]) {
  const known = areas.map((a) => a.name);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new Error(`no area ${unknown.map((n) => JSON.stringify(n)).join(", ")}; the areas are ${known.join(", ")}`);
  return areas.filter((a) => names.includes(a.name));
}
