/**
 * Predictive shares (§11.2.3), one code path for every lease source: the in-process allocator, the Redis
 * lease allocator and gossip. A client's asks, one per refresh, form its demand series. The share algorithm
 * then runs on max(wants, the forecast for the next refresh) instead of wants. The forecast is Holt-Winters from
 * model/forecast.ts, with Holt's trend while the history is shorter than two seasons. A climbing client is
 * granted capacity for where it is going, not where it was a refresh ago. A falling forecast never takes away
 * what a client wants now. Forecasts only move entitlements, so each source's Σ has ≤ capacity rule is untouched.
 */
import { fitHoltWinters } from "../../../model/forecast.js";

export interface ForecastConfig {
  /** How many of the client's last asks the forecast fits. */
  history: number;
  /** A demand cycle's length, in refreshes. */
  seasonLength: number;
}

/** A forecast the fit can use: at least 3 asks and a season of at least 2 refreshes. */
export function checkForecast(resource: string, f: ForecastConfig | undefined): void {
  if (f && !(Number.isInteger(f.history) && f.history >= 3 && Number.isInteger(f.seasonLength) && f.seasonLength >= 2)) {
    throw new RangeError(`resource ${resource}: forecast needs an integer history ≥ 3 and seasonLength ≥ 2`);
  }
}

/**
 * Record this refresh's ask in `history` (oldest first, kept to the last `f.history`, changed in place) and
 * return what the share algorithm runs on: `wants` without a forecast, else max(wants, the next refresh's forecast).
 */
export function predictWants(history: number[], wants: number, f: ForecastConfig | undefined): number {
  if (!f) return wants;
  history.push(wants);
  if (history.length > f.history) history.splice(0, history.length - f.history);
  const next = fitHoltWinters(history, f.seasonLength).forecast(1);
  // A degenerate fit (NaN, ±∞) never decides a share: the client gets what it asks for.
  return Number.isFinite(next) ? Math.max(wants, next) : wants;
}
