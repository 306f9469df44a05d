/** The sequencer's errors (log.ts re-exports them). */

/** The log cannot take writes (a storage failure earlier) or cannot answer (no checkpoint yet, a lookup failed). */
export class LogUnavailableError extends Error {
  override name = "LogUnavailableError";
}

/** The log would fork if it started: what it recovered does not extend a checkpoint it signed. */
export class ForkRefusedError extends Error {
  override name = "ForkRefusedError";
}

/**
 * An entry bundle the log no longer holds: it ends at or below the minimum index the store was pruned to (C2SP
 * tlog-tiles pruning), so it may have been deleted. Not corruption: the tree and its proofs above the minimum stand.
 * `log serve` answers it with 404 `pruned`.
 */
/** Sent with the HTTP 404 `pruned` answer: the log's minimum index, so a LogClient rethrows it as a PrunedError. */
export const MIN_INDEX_HEADER = "meridian-min-index";

export class PrunedError extends Error {
  override name = "PrunedError";
  constructor(
    readonly path: string,
    readonly end: number,
    readonly minIndex: number,
  ) {
    super(`${path} ends at entry ${end}, at or below the log's minimum index ${minIndex}: pruned`);
  }
}
