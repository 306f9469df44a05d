/** The public API of runtime/compliance (compliance proofs): other packages import from here only. */
export { ComplianceError } from "./errors.js";
export { FIELD_DOMAIN, fieldEntry, recordTree, saltFields, type FieldValue, type SaltedField } from "./fields.js";
export { openStatement, statementText } from "./statement.js";
export { commitRecord, disclose, Disclosure, Opening, Policy, RecordInput, verifyDisclosure, type LogProof, type VerifiedDisclosure } from "./disclosure.js";
export { appendStatement, fetchLogProof } from "./log.js";
