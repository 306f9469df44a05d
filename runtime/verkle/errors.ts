/** Error kinds of the Verkle tree: bad input (a key of the wrong length, a malformed point) and a refused proof. */
export class VerkleError extends Error {
  override name = "VerkleError";
}

/** A proof was refused: the message names what is missing, malformed or inconsistent with the trusted root. */
export class VerkleProofError extends VerkleError {
  override name = "VerkleProofError";
}
