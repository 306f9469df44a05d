/** Every refusal of runtime/compliance: a malformed input or a proof that does not check, with the reason. */
export class ComplianceError extends Error {
  override name = "ComplianceError";
}
