// The docs of DOC_GROUPS.c in suite.ts (slow, but on ports of their own), run beside the other codeblocks-*.test.ts.
import { DOC_GROUPS, docsSuite } from "./suite.js";

docsSuite(DOC_GROUPS.c);
