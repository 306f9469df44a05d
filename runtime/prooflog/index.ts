/**
 * The public API of runtime/prooflog: other packages import from here, or from services.ts for the log, its server,
 * the witness and the monitor (which load the HTTP stack, the stores and the clock).
 */
export { type Hash, hashEquals, leafHash } from "./rfc6962.js";
export { type Checkpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from "./checkpoint.js";
export { ALG_COSIGNATURE_V1, generateKey, newSigner, newVerifier, openNote, parseSignedNote, signNote, verifierKeyOf, type Signer, type Verifier } from "./note.js";
export { LogClient, LogClientError } from "./client.js";
export { PrunedError } from "./errors.js";
export { verifyConsistency, verifyInclusion } from "./proof/verify.js";
export { LightClient, type LightClientOptions } from "./lightclient.js";
export { MerkleTree } from "./tree.js";
export { type Policy } from "./policy.js";
export { SmtError } from "./smt/hashing.js";
export { rootFromBatch, SparseMerkleTree, verifySmtBatch, verifySmtProof, type SmtProof } from "./smt/smt.js";
export { verifyRangeProof, type RangeProof } from "./smt/range.js";
export { CompactMerkleTree, CSMT_EMPTY } from "./csmt/csmt.js";
export { csmtRootFromProof, decodeCsmtProof, encodeCsmtProof, proveCsmt } from "./csmt/proof.js";
export { sha256Text } from "./rfc6962.js";
export { AuditTrail, decodeAuditEvent, encodeAuditEvent, hlcTimestamps, monotonicTimestamps, type AuditEvent, type LogAppender } from "./audit/audit.js";
export { verifyEquivocation, type Equivocation } from "./witness/quorum.js";
export { newCosignatureVerifier } from "./witness/cosignature.js";
export { CorruptStoreError, encodeRecord as encodeJournalRecord, scanJournal } from "./storage/journal.js";
export { verifyThresholdCheckpoint, type ThresholdGroup } from "./witness/threshold.js";
