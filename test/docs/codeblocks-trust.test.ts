// docs/trust.md's blocks (swtpm, two escrow services, two proof logs) and docs/prooflog.md's (DOC_GROUPS.trust in
// suite.ts), beside the other codeblocks-*.test.ts. The two documents share no port, schema or file: they run side by side.
import { DOC_GROUPS, docsSuite } from "./suite.js";

docsSuite(DOC_GROUPS.trust, { sideBySide: true });
