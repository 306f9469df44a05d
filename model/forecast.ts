/**
 * Demand forecasting for predictive allocation (outline §11.1.1 "predictive allocation", "seasonal
 * variations"): additive Holt-Winters (level, trend, season) on a region's demand history, with the
 * smoothing constants fitted by grid search on one-step-ahead squared error. A history shorter than
 * two seasons has no season to learn: Holt's linear trend is used instead, and a history of one or two
 * points forecasts its last value. `backtest` holds out the last point and reports forecast vs actual,
 * which `meridian escrow allocate` prints. Pure.
 */

export interface HoltWintersFit {
  method: "holt-winters" | "holt" | "naive";
  alpha: number;
  beta: number;
  gamma: number;
  seasonLength: number;
  /** Sum of squared one-step-ahead errors over the history (the fit's score). */
  sse: number;
  /** Forecasts h = 1, 2, … steps past the end of the history (never negative). */
  forecast(h: number): number;
}

const GRID = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];

interface Run {
  sse: number;
  level: number;
  trend: number;
  season: number[];
}

/** One pass of additive Holt-Winters (m = 0: Holt's linear trend) over the series. */
function run(y: readonly number[], m: number, alpha: number, beta: number, gamma: number): Run {
  let level: number;
  let trend: number;
  let season: number[] = [];
  let start: number;
  if (m > 0) {
    // Initial trend from the first two seasons' means; the first season's mean is the level at its
    // middle, so each seasonal index is the point less the trend line there, and the level carried into
    // t = m is the trend line at the end of the first season.
    const first = y.slice(0, m).reduce((s, v) => s + v, 0) / m;
    const second = y.slice(m, 2 * m).reduce((s, v) => s + v, 0) / m;
    trend = (second - first) / m;
    season = y.slice(0, m).map((v, i) => v - (first + (i - (m - 1) / 2) * trend));
    level = first + ((m - 1) / 2) * trend;
    start = m;
  } else {
    level = y[0]!;
    trend = y[1]! - y[0]!;
    start = 1;
  }
  let sse = 0;
  for (let t = start; t < y.length; t++) {
    const s = m > 0 ? season[t % m]! : 0;
    const predicted = level + trend + s;
    sse += (y[t]! - predicted) ** 2;
    const prevLevel = level;
    level = alpha * (y[t]! - s) + (1 - alpha) * (level + trend);
    trend = beta * (level - prevLevel) + (1 - beta) * trend;
    if (m > 0) season[t % m] = gamma * (y[t]! - level) + (1 - gamma) * s;
  }
  return { sse, level, trend, season };
}

/** Fit additive Holt-Winters with season length m (falling back to Holt, then to the last value). */
export function fitHoltWinters(history: readonly number[], seasonLength: number): HoltWintersFit {
  for (const v of history) if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`history: got ${v}; expected finite values >= 0`);
  if (!(Number.isInteger(seasonLength) && seasonLength >= 2)) throw new RangeError(`seasonLength: got ${seasonLength}; expected an integer >= 2`);
  const n = history.length;
  if (n < 3) {
    const last = history[n - 1] ?? 0;
    return { method: "naive", alpha: 1, beta: 0, gamma: 0, seasonLength, sse: 0, forecast: () => last };
  }
  const m = n >= 2 * seasonLength ? seasonLength : 0;
  let best: { r: Run; alpha: number; beta: number; gamma: number } | null = null;
  for (const alpha of GRID) {
    for (const beta of GRID) {
      for (const gamma of m > 0 ? GRID : [0]) {
        const r = run(history, m, alpha, beta, gamma);
        if (!best || r.sse < best.r.sse - 1e-9) best = { r, alpha, beta, gamma };
      }
    }
  }
  const { r, alpha, beta, gamma } = best!;
  return {
    method: m > 0 ? "holt-winters" : "holt",
    alpha,
    beta,
    gamma,
    seasonLength,
    sse: r.sse,
    // The season index of step h past the end is (n − 1 + h) mod m.
    forecast: (h: number) => Math.max(0, r.level + h * r.trend + (m > 0 ? r.season[(n - 1 + h) % m]! : 0)),
  };
}

export interface Backtest {
  method: HoltWintersFit["method"];
  /** Forecast of the last point from the history before it. */
  forecast: number;
  actual: number;
  /** |forecast − actual| / actual (null when actual is 0). */
  absolutePercentError: number | null;
  /** Forecast of the next, unseen period from the whole history. */
  next: number;
}

/** Hold the last point out, forecast it from the rest, and forecast the next period from everything. */
export function backtest(history: readonly number[], seasonLength: number): Backtest {
  if (history.length < 2) throw new RangeError("history: a backtest needs at least two points");
  const actual = history[history.length - 1]!;
  const held = fitHoltWinters(history.slice(0, -1), seasonLength);
  const forecast = held.forecast(1);
  return {
    method: held.method,
    forecast,
    actual,
    absolutePercentError: actual === 0 ? null : Math.abs(forecast - actual) / actual,
    next: fitHoltWinters(history, seasonLength).forecast(1),
  };
}
