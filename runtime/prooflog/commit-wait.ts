/**
 * Checkpoint times with commit-wait (Spanner's TrueTime rule, §12.2): a checkpoint is stamped with
 * TrueTime's `latest` when it is signed (a time no true time has reached yet) and is published only once
 * TrueTime's `earliest` has passed that stamp — so no event observed after the checkpoint can carry an
 * earlier time. The wait is ≈2ε and is overlapped with witness cosigning. A log whose clock is not
 * synchronised has no ε: it stamps nothing and publishes nothing, and says so.
 */
import { ClockUnsynchronizedError, type ClockNode } from "../clock/index.js";
import type { Checkpoint } from "./checkpoint.js";

/** The checkpoint extension line carrying its commit-waited time: `meridian-time <Unix ms>`. */
const TIME_EXTENSION = "meridian-time";

export class CommitWaitRefusedError extends Error {
  override name = "CommitWaitRefusedError";
}

/**
 * The time to stamp a checkpoint signed now: TrueTime's latest, rounded up to a whole millisecond. Refused
 * while the node's strong path is closed, and while ε is beyond its bound (maxEpsilonMs, else the skew
 * monitor's freeze threshold, as `time serve`'s readiness): a wait of 2ε would stall every publication.
 */
export function checkpointTime(node: ClockNode): number {
  let interval;
  try {
    interval = node.truetime.now();
  } catch (e) {
    if (e instanceof ClockUnsynchronizedError)
      throw new CommitWaitRefusedError(`checkpoint held back: commit-wait needs a synchronised clock (${e.message}); it is published once the time reference has answered`);
    throw e;
  }
  const refusal = node.strongRefusal();
  if (refusal !== null) throw new CommitWaitRefusedError(`checkpoint held back: ${refusal}`);
  const epsilonMs = (interval.latest - interval.earliest) / 2;
  const boundMs = node.maxEpsilonMs ?? node.skew.freezeMs;
  if (epsilonMs > boundMs)
    throw new CommitWaitRefusedError(`checkpoint held back: TrueTime ε ${Math.round(epsilonMs)} ms is beyond the bound of ${boundMs} ms, so commit-wait would take ${Math.round(2 * epsilonMs)} ms`);
  return Math.ceil(interval.latest);
}

export const timeExtension = (ms: number) => `${TIME_EXTENSION} ${ms}`;

/** The commit-waited time a checkpoint carries, or null when it carries none. */
export function checkpointTimeOf(cp: Pick<Checkpoint, "extensions">): number | null {
  const line = cp.extensions.find((e) => e.startsWith(`${TIME_EXTENSION} `));
  return line === undefined ? null : Number(line.slice(TIME_EXTENSION.length + 1));
}
