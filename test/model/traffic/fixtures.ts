/** Test helper: an EstateSpec from a shipped stack with its dns block patched (validated by the schema). */
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { withEverySolver } from "../../fixtures/dns01.js";

export function specWithDns(stack: string, patch: Record<string, unknown> = {}, regions?: unknown[]): EstateSpec {
  const map = readStackConfigMap(stack);
  const dns = { ...(map["meridian:dns"] as Record<string, unknown>), ...patch };
  const config = { ...map, "meridian:dns": dns, "meridian:pki": withEverySolver(map["meridian:pki"]), ...(regions ? { "meridian:regions": regions } : {}) };
  return buildEstateSpec(stack, parseEstateConfig(config, `Pulumi.${stack}.yaml`));
}
