/** Seeded randomness for the simulated sources (mulberry32 + Box–Muller): a scenario replays exactly. */
export interface Random {
  uniform(): number;
  gaussian(): number;
}

export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    gaussian: () => {
      const u = Math.max(uniform(), Number.MIN_VALUE);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
  };
}
