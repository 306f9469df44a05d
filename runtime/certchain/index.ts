/** Certificate chains with finality: the certificates and light client (certificates.ts), the log tie-in, the service. */
export * from "./certificates.js";
export { CertError } from "./errors.js";
export { CertificateJson, CommitteeJson } from "./schema.js";
export { certifiedCheckpoint, checkpointBody, checkpointDigest, verifyCertifiedInclusion } from "./log-checkpoint.js";
export { certService } from "./service.js";
export { syncFrom } from "./client.js";
export { groupCommittee, interpolateCertificate, isGroup, type GroupCommittee } from "./group.js";
export { CertifyRefusal, CertifyRequestJson, CertSigner, FileSignedStore, MemorySignedStore, type CertifyRequest } from "./signer.js";
