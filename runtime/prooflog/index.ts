/** The public API of runtime/prooflog: other packages import from here only. */
export { type Hash, HASH_SIZE, EMPTY_ROOT, hashEquals, leafHash, nodeHash, toBase64 } from "./rfc6962.js";
export { type Checkpoint, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from "./checkpoint.js";
export { ALG_COSIGNATURE_V1, ALG_ED25519, ALG_MLDSA44, generateKey, newSigner, newVerifier, NoteError, openNote, parseSignedNote, signNote, splitForSigning, type Signer, type Verifier } from "./note.js";
export { ForkRefusedError, LogUnavailableError, TransparencyLog, type AddResult, type LogOptions } from "./log.js";
export { startLogServer, type ServeOptions } from "./serve.js";
export { LogClient, LogClientError } from "./client.js";
export { checkLog, proveExtends } from "./verifier.js";
export { LightClient, ForkError } from "./lightclient.js";
export { ProofError, verifyConsistency, verifyInclusion } from "./proof/verify.js";
export { formatTlogProof, parseTlogProof, verifyTlogProof } from "./proof/tlogproof.js";
export { parsePolicy, PolicyError, verifyWithPolicy, type Policy } from "./policy.js";
export { DEFAULTS as SMT_DEFAULTS, SmtError } from "./smt/hashing.js";
export { SparseMerkleTree, verifySmtBatch, verifySmtProof, type SmtProof } from "./smt/smt.js";
export { verifyRangeProof, type RangeProof } from "./smt/range.js";
export { AuditTrail, decodeAuditEvent, encodeAuditEvent, hlcTimestamps, monotonicTimestamps, type AuditEvent, type LogAppender } from "./audit/audit.js";
export { ForkDetector, findEquivocation, verifyEquivocation, verifyQuorum, type Equivocation } from "./witness/quorum.js";
export { newCosignatureVerifier, newCosigner } from "./witness/cosignature.js";
export { witnessService } from "./witness/service.js";
