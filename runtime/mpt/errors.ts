/** Error kinds of the Merkle Patricia trie: a malformed node or input, and a proof that does not prove its claim. */
export class MptError extends Error {
  override name = "MptError";
}

/** A proof was refused: the message names what is missing, malformed or inconsistent with the trusted root. */
export class MptProofError extends MptError {
  override name = "MptProofError";
}
