// Fixture for test/architecture/cycles.test.ts: the other half of the cycle.
import { a } from "./a.js";
export const b = [a];
