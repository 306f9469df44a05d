/** The public API of runtime/compliance (compliance proofs): other packages import from here only. */
export { ComplianceError } from "./errors.js";
export { FIELD_DOMAIN, fieldEntry, recordTree, saltFields, type FieldValue, type SaltedField } from "./fields.js";
export { openStatement, statementText } from "./statement.js";
export { commitRecord, disclose, Disclosure, Opening, Policy, RecordInput, verifyDisclosure, type LogProof, type VerifiedDisclosure } from "./disclosure.js";
export { appendStatement, fetchLogProof } from "./log.js";
export { buildSumTree, SUM_LEAF_DOMAIN, SUM_NODE_DOMAIN, sumLeafHash, sumNode, verifySumProof, type SumProof, type SumRoot } from "./sumtree.js";
export { SumProofJson, sumProofJson, SumRootJson, sumRootJson, SumTreeInput } from "./sumtree-json.js";
