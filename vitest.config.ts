import { defineConfig } from "vitest/config";
import { SlowestFirst } from "./test/sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Two cores: more workers only thrash.
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
  },
});
