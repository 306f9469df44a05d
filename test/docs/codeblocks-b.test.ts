// The docs of DOC_GROUPS.b in suite.ts (they share fixed ports), run beside the other codeblocks-*.test.ts.
import { DOC_GROUPS, docsSuite } from "./suite.js";

docsSuite(DOC_GROUPS.b);
