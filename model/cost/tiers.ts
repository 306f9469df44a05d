/**
 * Tier walking: a volume billed against banded prices, starting where earlier volume from the same
 * meter left off. Splitting a meter's volume into consecutive walks gives exactly the same total as one
 * walk over the sum — the invariant that lets each link carry its own share of a region's tiers.
 */
import type { Price, Tier } from "../prices/price.js";

export interface TierCharge {
  label: string;
  quantity: number;
  price: Price;
  usd: number;
}

/** Bill `quantity` units starting at cumulative position `start` on `tiers`. */
export function walkTiers(tiers: Tier[], start: number, quantity: number): TierCharge[] {
  const charges: TierCharge[] = [];
  let bandStart = 0;
  let position = start;
  let remaining = quantity;
  for (const tier of tiers) {
    const bandEnd = bandStart + tier.bandGB;
    if (remaining > 0 && position < bandEnd) {
      const take = Math.min(remaining, bandEnd - position);
      charges.push({ label: tier.label, quantity: take, price: tier.price, usd: take * tier.price.usd });
      position += take;
      remaining -= take;
    }
    bandStart = bandEnd;
  }
  return charges;
}
