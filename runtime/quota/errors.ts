/** Quota errors carry what kind of mistake they are, so transports answer 400 / 403 / 404 / 409. */
export type ErrorKind = "invalid" | "forbidden" | "not-found" | "conflict";

export class QuotaError extends Error {
  override name = "QuotaError";
  constructor(
    message: string,
    readonly kind: ErrorKind = "invalid",
  ) {
    super(message);
  }
}
