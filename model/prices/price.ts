/**
 * The shape of a dated price: every number Meridian charges carries the source it came from and the
 * date it was read, so a reviewer can check it and a stale price is visible. Figures marked
 * `verified: false` are those /work/shared/FACTS.md itself flags as unverified.
 */
export interface Price {
  usd: number;
  /** Billing unit, e.g. `GB`, `1M queries`, `month`. */
  unit: string;
  source: string;
  /** When the figure was read (YYYY-MM). */
  date: string;
  verified: boolean;
  note?: string;
}

/** One band of a tiered price: `bandGB` gigabytes (Infinity for the last band) at `price`. */
export interface Tier {
  bandGB: number;
  label: string;
  price: Price;
}

export function price(usd: number, unit: string, source: string, date: string, opts: { verified?: boolean; note?: string } = {}): Price {
  return { usd, unit, source, date, verified: opts.verified ?? true, ...(opts.note ? { note: opts.note } : {}) };
}
