/** A mistake the user can fix (bad flag, unknown stack, malformed input): printed without a stack trace, exit 2. */
export class UserError extends Error {
  override name = "UserError";
}
