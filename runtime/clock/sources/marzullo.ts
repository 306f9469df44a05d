/**
 * Marzullo's algorithm: the smallest interval consistent with the largest number of source intervals.
 * Sources whose interval does not overlap that best interval are falsetickers (NTP's term) and are
 * excluded from the time and from steering. Ties keep the first best interval found, as NTP's
 * intersection algorithm does; a majority is required for the result to count as agreement.
 */
export interface Agreement {
  low: number;
  high: number;
  /** How many sources contain [low, high]. */
  count: number;
  /** Indexes of sources whose interval misses [low, high]. */
  falsetickers: number[];
  /** True when more than half of the sources agree. */
  majority: boolean;
}

export function marzullo(intervals: readonly (readonly [number, number])[]): Agreement | null {
  if (intervals.length === 0) return null;
  // Edges: starts sort before ends at the same point so touching intervals count as overlapping.
  const edges: [number, 1 | -1][] = [];
  for (const [lo, hi] of intervals) {
    if (!(lo <= hi)) throw new RangeError(`interval [${lo}, ${hi}] has low > high`);
    edges.push([lo, 1], [hi, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let best = 0;
  let count = 0;
  let low = 0;
  let high = 0;
  for (let i = 0; i < edges.length; i++) {
    const [x, type] = edges[i]!;
    count += type;
    if (count > best) {
      best = count;
      low = x;
      high = edges[i + 1]![0];
    }
  }
  const falsetickers = intervals.flatMap(([lo, hi], i) => (hi < low || lo > high ? [i] : []));
  return { low, high, count: best, falsetickers, majority: best * 2 > intervals.length };
}
