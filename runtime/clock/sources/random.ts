/** Seeded randomness for the simulated sources (mulberry32 + Box–Muller): a scenario replays exactly. */
import { seededUniform } from "../../../model/random.js";

export interface Random {
  uniform(): number;
  gaussian(): number;
}

export function seededRandom(seed: number): Random {
  const uniform = seededUniform(seed);
  return {
    uniform,
    gaussian: () => {
      const u = Math.max(uniform(), Number.MIN_VALUE);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
  };
}
