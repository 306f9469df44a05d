/**
 * Pearson's chi-square goodness-of-fit, for tests that compare a sampled distribution with a model's.
 * Cells expected fewer than 5 times are pooled into one (the test's usual validity rule); the critical
 * value is Wilson–Hilferty's approximation of the chi-square quantile.
 */
export function chiSquare(observed: readonly number[], expected: readonly number[]): { statistic: number; df: number } {
  const big = expected.map((e, i) => ({ e, o: observed[i] ?? 0 })).filter((c) => c.e >= 5);
  const small = expected.map((e, i) => ({ e, o: observed[i] ?? 0 })).filter((c) => c.e < 5);
  const pooled = small.reduce((acc, c) => ({ e: acc.e + c.e, o: acc.o + c.o }), { e: 0, o: 0 });
  const cells = pooled.e > 0 || pooled.o > 0 ? [...big, pooled] : big;
  // A draw the model gives probability 0 is an outright failure, not a small deviation.
  const statistic = cells.reduce((s, c) => s + (c.e === 0 ? (c.o > 0 ? Infinity : 0) : (c.o - c.e) ** 2 / c.e), 0);
  return { statistic, df: Math.max(1, cells.length - 1) };
}

/** Upper quantile of chi-square with `df` degrees of freedom; z is the normal quantile (3.09 ↔ α = 0.001). */
export function chiSquareCritical(df: number, z = 3.09): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}
