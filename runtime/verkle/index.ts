/** The public API of runtime/verkle, a width-256 Verkle tree with KZG commitments: other packages import from here only. */
export { VerkleError, VerkleProofError } from "./errors.js";
export { VerkleTree } from "./tree.js";
export { proofSize, verifyProof, type ProvenEntry, type VerkleProof } from "./proof.js";
export { verifyKzgProof } from "./kzg.js";
