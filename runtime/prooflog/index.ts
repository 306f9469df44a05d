/** The public API of runtime/prooflog: other packages import from here only. */
export { type Hash, hashEquals, leafHash } from "./rfc6962.js";
export { type Checkpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from "./checkpoint.js";
export { ALG_COSIGNATURE_V1, generateKey, newSigner, newVerifier, openNote, parseSignedNote, signNote, verifierKeyOf, type Signer, type Verifier } from "./note.js";
export { TransparencyLog, type AddResult, type LogOptions } from "./log.js";
export { startLogServer, type ServeOptions } from "./serve.js";
export { checkpointTimeOf } from "./commit-wait.js";
export { LogClient } from "./client.js";
export { verifyConsistency, verifyInclusion } from "./proof/verify.js";
export { MerkleTree } from "./tree.js";
export { type Policy } from "./policy.js";
export { SmtError } from "./smt/hashing.js";
export { SparseMerkleTree, verifySmtBatch, verifySmtProof, type SmtProof } from "./smt/smt.js";
export { verifyRangeProof, type RangeProof } from "./smt/range.js";
export { AuditTrail, decodeAuditEvent, encodeAuditEvent, hlcTimestamps, monotonicTimestamps, type AuditEvent, type LogAppender } from "./audit/audit.js";
export { verifyEquivocation, type Equivocation } from "./witness/quorum.js";
export { newCosignatureVerifier } from "./witness/cosignature.js";
export { witnessService } from "./witness/service.js";
export { CorruptStoreError, encodeRecord as encodeJournalRecord, scanJournal } from "./storage/journal.js";
