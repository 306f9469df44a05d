/**
 * Money: costs are computed in floating dollars but every reported amount is rounded to whole cents
 * first, and totals are sums of those cents — so a total always equals the sum of its components.
 */
export function toCents(usd: number): number {
  // toFixed(6) strips binary noise (0.085 * 3760 = 319.59999...) before rounding half away from zero.
  return Math.round(Number((usd * 100).toFixed(6)));
}

export function centsToString(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** `$1,234.56` for tables. */
export function formatUSD(cents: number): string {
  const [whole, frac] = centsToString(Math.abs(cents)).split(".");
  return `${cents < 0 ? "-" : ""}$${Number(whole).toLocaleString("en-US")}.${frac}`;
}
