// docs/proofs.md's blocks (DOC_GROUPS.proofs in suite.ts: the five-process DKG, das serve), beside the other codeblocks-*.test.ts.
import { DOC_GROUPS, docsSuite } from "./suite.js";

docsSuite(DOC_GROUPS.proofs);
