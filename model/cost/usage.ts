/**
 * Pricing usage: turns the quantities areas report (model/usage.ts `UsageItem`) into cost components,
 * against the SKU table in model/prices. Banded SKUs (Route 53 zones: first 25, then cheaper) meter
 * account-wide, so items walk one shared meter per SKU in the order given.
 */
import { skuPrices } from "../prices/dns.js";
import type { Sku, UsageItem } from "../usage.js";
import type { CostComponent } from "./egress.js";
import { walkTiers } from "./tiers.js";
import { toCents } from "./money.js";

export interface PricedUsage {
  item: UsageItem;
  components: CostComponent[];
  monthlyCents: number;
}

export function priceUsage(items: UsageItem[]): PricedUsage[] {
  const metered = new Map<Sku, number>();
  return items.map((item) => {
    const tiers = skuPrices[item.sku];
    if (!tiers) throw new Error(`no price for SKU ${String(item.sku)} (resource ${item.resource})`);
    if (!(item.monthlyQuantity >= 0)) throw new Error(`usage ${item.resource} / ${item.component}: monthlyQuantity must be ≥ 0, got ${item.monthlyQuantity}`);
    const start = metered.get(item.sku) ?? 0;
    metered.set(item.sku, start + item.monthlyQuantity);
    const charges = walkTiers(tiers, start, item.monthlyQuantity);
    const components: CostComponent[] = charges.map((c) => ({
      name: charges.length > 1 && c.label ? `${item.component} (${c.label})` : item.component,
      unit: item.unit,
      monthlyQuantity: c.quantity,
      price: c.price,
      monthlyCents: toCents(c.usd),
      usageBased: item.usageBased,
    }));
    // A zero quantity still shows the component (Infracost lists usage-based components at 0).
    if (components.length === 0) {
      components.push({ name: item.component, unit: item.unit, monthlyQuantity: 0, price: tiers[0]!.price, monthlyCents: 0, usageBased: item.usageBased });
    }
    return { item, components, monthlyCents: components.reduce((s, c) => s + c.monthlyCents, 0) };
  });
}
