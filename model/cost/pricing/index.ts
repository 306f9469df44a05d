/**
 * Pricing a plan: every cloud resource is priced by its type's pricer, declared free with the reason, or
 * reported unsupported — so what the estimate leaves out is derived from the plan, by type and resource.
 * Component resources (`meridian:*`), providers and the stack (`pulumi:*`) are not cloud resources.
 */
import type { EstateSpec } from "../../estate.js";
import type { PlannedResource } from "../../resources.js";
import type { CostComponent } from "../egress.js";
import { awsPricers } from "./aws.js";
import { azurePricers } from "./azure.js";
import { gcpPricers } from "./gcp.js";
import { kubernetesPricer, kubernetesPricers } from "./kubernetes.js";
import { trafficPricers } from "./traffic.js";
import type { CostCategory, Pricer } from "./types.js";

export type { CostCategory } from "./types.js";

const pricers: Record<string, Pricer> = { ...awsPricers, ...gcpPricers, ...azurePricers, ...trafficPricers, ...kubernetesPricers };

export function pricerFor(type: string): Pricer | undefined {
  return pricers[type] ?? kubernetesPricer(type);
}

export function isCloudResource(type: string): boolean {
  return !type.startsWith("pulumi:") && !type.startsWith("meridian:");
}

export interface PricedResource {
  resource: PlannedResource;
  category: CostCategory;
  components: CostComponent[];
}

export interface ResourcePricing {
  priced: PricedResource[];
  free: { resource: PlannedResource; reason: string }[];
  unsupported: PlannedResource[];
}

export function priceResources(resources: PlannedResource[], spec: EstateSpec): ResourcePricing {
  const cloud = resources.filter((r) => isCloudResource(r.type));
  const ctx = { spec, resources: cloud };
  const out: ResourcePricing = { priced: [], free: [], unsupported: [] };
  for (const r of cloud) {
    const pricer = pricerFor(r.type);
    if (!pricer) {
      out.unsupported.push(r);
      continue;
    }
    const p = pricer(r, ctx);
    if ("free" in p) out.free.push({ resource: r, reason: p.free });
    else out.priced.push({ resource: r, category: p.category, components: p.components });
  }
  return out;
}
