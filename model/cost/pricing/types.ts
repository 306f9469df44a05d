/**
 * The pricing vocabulary: a pricer turns one planned resource into cost components (what it bills, from
 * its own known inputs and the dated price table) or says why it costs nothing. Types no pricer knows are
 * reported as unsupported, by type and resource — the list is derived from the plan, never kept by hand.
 */
import type { EstateSpec } from "../../estate.js";
import { price, type Price } from "../../prices/price.js";
import type { PlannedResource } from "../../resources.js";
import type { CostComponent } from "../egress.js";
import { toCents } from "../money.js";

export const HOURS_PER_MONTH = 730;

/** What a priced resource is, for per-resource limits (a database above the stack's ceiling, …). */
export type CostCategory = "database" | "cache" | "load-balancer" | "dns" | "health-check" | "gateway" | "endpoint" | "address" | "secret";

/** `unsupported`: the type has a pricer, but not for this resource (a Helm release other than the ones it knows). */
export type Pricing = { category: CostCategory; components: CostComponent[] } | { free: string } | { unsupported: string };

export interface PricingContext {
  spec: EstateSpec;
  /** Every resource of the plan (some prices depend on siblings: an endpoint's profile, a pool's origins). */
  resources: PlannedResource[];
}

export type Pricer = (r: PlannedResource, ctx: PricingContext) => Pricing;

export function component(name: string, unit: string, monthlyQuantity: number, p: Price, usageBased = false): CostComponent {
  return { name, unit, monthlyQuantity, price: p, monthlyCents: toCents(monthlyQuantity * p.usd), usageBased };
}

/** A resource running all month at an hourly price. */
export function allMonth(name: string, p: Price, count = 1): CostComponent {
  return component(name, "hours", HOURS_PER_MONTH * count, p);
}

/** A component whose SKU the table lacks: shown at $0 with priceNotFound, so the gap is visible, not silent. */
export function notFound(name: string, unit: string, monthlyQuantity: number, why: string): CostComponent {
  return { ...component(name, unit, monthlyQuantity, price(0, unit, "no price in the table", "-", { verified: false, note: why })), priceNotFound: true };
}
