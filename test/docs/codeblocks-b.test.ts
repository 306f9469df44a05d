// The second half of the docs' code blocks (SECOND_HALF in suite.ts), run by the other vitest worker.
import { docsSuite, SECOND_HALF } from "./suite.js";

docsSuite(SECOND_HALF);
