/** The sequencer's errors (log.ts re-exports them). */

/** The log cannot take writes (a storage failure earlier) or cannot answer (no checkpoint yet, a lookup failed). */
export class LogUnavailableError extends Error {
  override name = "LogUnavailableError";
}

/** The log would fork if it started: what it recovered does not extend a checkpoint it signed. */
export class ForkRefusedError extends Error {
  override name = "ForkRefusedError";
}
