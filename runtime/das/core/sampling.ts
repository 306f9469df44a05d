/**
 * Data-availability sampling math. With k-of-n erasure coding the blob is unrecoverable only if at least n − k + 1
 * shards are withheld, so at most k − 1 remain available; a sample of a uniformly random shard then succeeds with
 * probability at most (k − 1)/n. After s successful samples the chance that an unrecoverable blob got past us is
 *   with replacement     ((k − 1)/n)^s
 *   without replacement  C(k − 1, s) / C(n, s) = ∏_{i<s} (k − 1 − i)/(n − i)   (0 once s ≥ k: k good shards decode)
 * The sampler draws distinct shards (without replacement), so the second is its bound; the first is the familiar
 * looser one, printed beside it. Both are worst cases over the adversary's choice of which shards to withhold.
 */

export interface SamplingBound {
  k: number;
  n: number;
  samples: number;
  /** Fewest shards an adversary must withhold to make the blob unrecoverable: n − k + 1. */
  withhold: number;
  withReplacement: number;
  withoutReplacement: number;
}

export function samplingBound(k: number, n: number, samples: number): SamplingBound {
  if (!Number.isInteger(samples) || samples < 1 || samples > n) throw new RangeError(`samples must be an integer in 1..${n}, got ${samples}`);
  let without = 1;
  for (let i = 0; i < samples; i++) without *= Math.max(0, k - 1 - i) / (n - i);
  return { k, n, samples, withhold: n - k + 1, withReplacement: ((k - 1) / n) ** samples, withoutReplacement: without };
}

/** s distinct shard indices in 0..n−1, uniformly (partial Fisher–Yates); `random` returns floats in [0, 1). */
export function chooseSamples(n: number, samples: number, random: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < samples; i++) {
    const j = i + Math.floor(random() * (n - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, samples);
}
