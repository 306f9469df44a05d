// Fixture for test/architecture/cycles.test.ts: a two-module import cycle the check must report.
import { b } from "./b.js";
export const a = (): string => `a${b.length}`;
