/**
 * Where the pack finds the cost model under `pulumi preview --policy-pack`: the replication area
 * publishes the validated estate config in a ConfigMap (`meridian-replication`, key `estate.json`); the
 * pack re-validates it with the same schema and rebuilds the report with the same model — numbers are
 * computed by model/, never re-derived from provider resources.
 */
import { buildEstateSpec } from "../model/estate.js";
import { estateSchema } from "../model/config/index.js";
import { prop, type ModelView, type ResourceLike } from "./rule.js";
import { modelView } from "./evaluate.js";

const MODEL_CONFIGMAP = "meridian-replication";
const MODEL_KEY = "estate.json";

export function modelFromResources(resources: ResourceLike[]): ModelView | null {
  const cm = resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && prop(r.props, "metadata.name") === MODEL_CONFIGMAP);
  const data = cm ? prop(cm.props, "data") : undefined;
  const text = data && typeof data === "object" ? (data as Record<string, unknown>)[MODEL_KEY] : undefined;
  if (typeof text !== "string") return null;
  const { stack, ...config } = JSON.parse(text) as Record<string, unknown> & { stack: string };
  const parsed = estateSchema.safeParse(config);
  if (!parsed.success) throw new Error(`ConfigMap ${MODEL_CONFIGMAP}/${MODEL_KEY} is not a valid estate config: ${parsed.error.issues[0]?.message}`);
  return modelView(buildEstateSpec(stack, parsed.data), { resources });
}
