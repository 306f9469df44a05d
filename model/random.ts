/**
 * Seeded randomness and weighted choice, written once: the resolver's weighted answers, the quota lottery
 * and the simulated clock sources all draw from here, so a seed replays the same run everywhere.
 */

/** A seeded uniform source in [0, 1) (mulberry32): small, fast, and exact to replay in tests. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draw one candidate with probability weight / Σ weights (negative weights count as 0); `random` returns
 * [0, 1). With no positive weight the first candidate answers (a resolver still answers; a lottery's
 * callers filter empty pools first).
 */
export function drawWeighted<T extends { weight: number }>(candidates: readonly T[], random: () => number): T | undefined {
  const total = candidates.reduce((s, c) => s + Math.max(0, c.weight), 0);
  if (total <= 0) return candidates[0];
  let x = random() * total;
  for (const c of candidates) {
    x -= Math.max(0, c.weight);
    if (x < 0) return c;
  }
  return candidates[candidates.length - 1];
}
