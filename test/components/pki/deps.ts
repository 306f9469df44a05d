/**
 * The prod plan with each resource's explicit dependencies (`dependsOn`), which the shared harness does not
 * record: the same program and config as planStack, with the mock monitor wrapped once more to read
 * `getDependenciesList()` off each RegisterResource request. Keyed by `<type>::<name>`.
 */
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import { estateProgram } from "../../../program.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { secretKeys } from "../../../model/secrets.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { runUnderMocks, type RecordedResource } from "../../../components/preview/mock-runtime.js";

interface Req {
  getType(): string;
  getName(): string;
  getDependenciesList(): string[];
}
interface Monitor {
  registerResource(req: Req, cb: (err: unknown, res?: unknown) => void): void;
}

export async function planWithDependencies(stack: string): Promise<{ resources: RecordedResource[]; dependsOn: Map<string, string[]> }> {
  const configMap = readStackConfigMap(stack);
  const spec = buildEstateSpec(stack, parseEstateConfig(configMap, stack));
  const keys = secretKeys(spec);
  const config: Record<string, unknown> = { ...configMap };
  for (const key of keys) config[`meridian:${key}`] ??= `<secret ${key}>`;
  const dependsOn = new Map<string, string[]>();
  const run = await runUnderMocks(
    () => {
      const monitor = settings.getMonitor() as unknown as Monitor;
      const inner = monitor.registerResource.bind(monitor);
      monitor.registerResource = (req, cb) => {
        dependsOn.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList());
        inner(req, cb);
      };
      return estateProgram();
    },
    { stack, config, secretKeys: keys.map((k) => `meridian:${k}`), cloudValues: "fake" },
  );
  return { resources: run.resources, dependsOn };
}
