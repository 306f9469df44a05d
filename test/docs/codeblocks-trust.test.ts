// docs/trust.md's blocks (DOC_GROUPS.trust in suite.ts: swtpm, two escrow services, two proof logs), beside the other codeblocks-*.test.ts.
import { DOC_GROUPS, docsSuite } from "./suite.js";

docsSuite(DOC_GROUPS.trust);
