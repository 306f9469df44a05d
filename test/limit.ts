/**
 * A wrapper that lets at most `n` of its calls run at once; the others wait their turn, in order. For a test that
 * starts CPU-heavy child processes side by side: on the suite's two cores, more than a couple at once only take CPU
 * from the other vitest worker's file (and its timing-sensitive tests) without finishing sooner.
 */
export function limitConcurrency(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // a finishing call hands over its slot
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
