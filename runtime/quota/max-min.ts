/**
 * Max-min fair share by progressive filling (water-filling): repeatedly split what is left equally (or
 * by weight) among the unsatisfied; whoever wants less than their split keeps what they want and the
 * rest is split again. Invariants: Σ allocation ≤ capacity; nobody gets more than they want; nobody's
 * allocation can grow without shrinking someone with an equal or smaller (weighted) allocation.
 * Converges in at most n rounds. Doorman's example: capacity 120, wants 1000/50/10 → 60/50/10.
 */

export function maxMinFair(capacity: number, wants: readonly number[], weights?: readonly number[]): number[] {
  const n = wants.length;
  const w = weights ?? wants.map(() => 1);
  if (w.length !== n) throw new RangeError(`weights has ${w.length} entries for ${n} wants`);
  for (const [i, x] of wants.entries()) if (!(x >= 0)) throw new RangeError(`wants[${i}] is ${x}; expected a number ≥ 0`);
  for (const [i, x] of w.entries()) if (!(x > 0)) throw new RangeError(`weights[${i}] is ${x}; expected a number > 0`);
  const alloc = new Array<number>(n).fill(0);
  let left = Math.max(0, capacity);
  let open = wants.map((_, i) => i).filter((i) => wants[i]! > 0);
  while (open.length && left > 1e-12) {
    const totalWeight = open.reduce((s, i) => s + w[i]!, 0);
    const satisfied = open.filter((i) => wants[i]! - alloc[i]! <= (left * w[i]!) / totalWeight);
    if (satisfied.length === 0) {
      for (const i of open) alloc[i]! += (left * w[i]!) / totalWeight;
      left = 0;
      break;
    }
    for (const i of satisfied) {
      left -= wants[i]! - alloc[i]!;
      alloc[i] = wants[i]!;
    }
    open = open.filter((i) => !satisfied.includes(i));
  }
  return alloc;
}
