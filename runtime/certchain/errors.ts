/** A certificate, chain or piece of evidence refused: the message names what is wrong. */
export class CertError extends Error {
  override name = "CertError";
}
