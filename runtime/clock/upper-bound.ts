/**
 * The HLC's persisted wall-time upper bound and the start-up wait (CockroachDB's
 * `server.clock.persist_upper_bound_interval` and `ensureClockMonotonicity`).
 *
 * `FileUpperBound` keeps the bound in `<dataDir>/hlc-upper-bound.json`: written to a temporary file,
 * fsync'd, renamed over the old one and the directory fsync'd, so a crash leaves the old bound or the new
 * one, never a torn file. The HLC persists before issuing beyond the bound (runtime/clock/hlc.ts).
 *
 * `startupWait` is the pure decision of how long a restarted process must wait before issuing:
 *  - a bound still in the future: until physical time passes it — every earlier timestamp is ≤ it;
 *  - no bound, an unreadable one, or one already passed: until start + max offset. Every timestamp the
 *    old process issued had a wall time ≤ its physical clock + max offset (remote timestamps further ahead
 *    are refused), so this wait is safe without state. A bound already in the past cannot tell a long
 *    outage from a state file restored from an older snapshot, so it gets the same wait;
 *  - a bound further ahead than max offset + lead: the clock went backwards across the restart (or the
 *    file is not ours) — refused with an error naming the file rather than waiting an unbounded time.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../common/clock.js";
import type { UpperBoundStore } from "./hlc.js";
import { microsFromMs } from "./timestamp.js";

export const UPPER_BOUND_FILE = "hlc-upper-bound.json";

/** The HLC reset protocol's record (runtime/clock/epoch.ts): the epoch in force and how it began. */
export interface EpochState {
  /** 0 until the first reset. */
  epoch: number;
  lastReset: ResetRecord | null;
}

export interface ResetRecord {
  epoch: number;
  /** Physical time of the reset (µs since the Unix epoch) and as RFC 3339. */
  atMicros: number;
  at: string;
  reason: string;
  /** The HLC's wall time before the reset and after it (µs). */
  fromWallMicros: number;
  toWallMicros: number;
}

export const EPOCH_ZERO: EpochState = Object.freeze({ epoch: 0, lastReset: null });

export type PersistedBound = { kind: "bound"; boundMicros: number; epoch?: EpochState } | { kind: "none" } | { kind: "unreadable"; reason: string };

export interface StartupWait {
  /** Physical time (µs) the clock must pass before the HLC issues timestamps. */
  untilMicros: number;
  reason: string;
}

export class ClockBehindUpperBoundError extends Error {
  override name = "ClockBehindUpperBoundError";
}

export function startupWait(state: PersistedBound, physicalMicros: number, maxOffsetMs: number, leadMs: number, where: string): StartupWait {
  const maxOffset = microsFromMs(maxOffsetMs);
  const unknown = (why: string): StartupWait => ({ untilMicros: physicalMicros + maxOffset, reason: `${why}: waiting out the max offset (${maxOffsetMs} ms)` });
  if (state.kind === "none") return unknown(`no persisted HLC upper bound in ${where}`);
  if (state.kind === "unreadable") return unknown(`persisted HLC upper bound ${where} unreadable (${state.reason})`);
  const ahead = state.boundMicros - physicalMicros;
  if (ahead <= 0) return unknown(`persisted HLC upper bound ${where} already passed ${(-ahead / 1000).toFixed(0)} ms ago (a long outage or a restored snapshot)`);
  if (ahead > maxOffset + microsFromMs(leadMs)) {
    throw new ClockBehindUpperBoundError(
      `persisted HLC upper bound ${where} is ${(ahead / 1000).toFixed(0)} ms ahead of this clock, more than max offset + persist lead (${maxOffsetMs + leadMs} ms): ` +
        `the clock went backwards since the last run, or the HLC ran ahead of it: fix the clock; if the clock is right, start a new HLC epoch with ` +
        `\`meridian time reset --data-dir ${where.replace(/\/[^/]*$/, "")} --reason …\` (clients holding older timestamps are told) — removing the file would lose the epoch`,
    );
  }
  return { untilMicros: state.boundMicros + 1, reason: `persisted HLC upper bound ${where}: waiting ${(ahead / 1000).toFixed(0)} ms for the clock to pass it` };
}

/** Sleep (real timers) until `clock` reads past `untilMicros`. */
export async function waitPast(clock: Clock, untilMicros: number): Promise<void> {
  for (let left = untilMicros - microsFromMs(clock.now()); left >= 0; left = untilMicros - microsFromMs(clock.now())) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left / 1000) + 1));
  }
}

export class FileUpperBound implements UpperBoundStore {
  readonly path: string;
  /**
   * The HLC epoch written with every bound (one file, one atomic rename: a reset's new epoch and its lower
   * bound land together or not at all). Set from `read()`, and by the reset protocol before it persists.
   */
  epoch: EpochState = EPOCH_ZERO;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, UPPER_BOUND_FILE);
  }

  read(): PersistedBound {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { kind: "none" };
      return { kind: "unreadable", reason: code ?? (e as Error).message };
    }
    try {
      const v = JSON.parse(text) as { upperBoundMicros?: unknown; epoch?: unknown; lastReset?: unknown };
      if (!(typeof v.upperBoundMicros === "number" && Number.isSafeInteger(v.upperBoundMicros) && v.upperBoundMicros > 0))
        return { kind: "unreadable", reason: "no positive integer upperBoundMicros" };
      // Files from before the reset protocol carry no epoch: epoch 0.
      if (v.epoch !== undefined && !(typeof v.epoch === "number" && Number.isSafeInteger(v.epoch) && v.epoch >= 0)) return { kind: "unreadable", reason: "epoch is not a non-negative integer" };
      const epoch: EpochState = { epoch: (v.epoch as number | undefined) ?? 0, lastReset: isResetRecord(v.lastReset) ? v.lastReset : null };
      this.epoch = epoch;
      return { kind: "bound", boundMicros: v.upperBoundMicros, epoch };
    } catch {
      return { kind: "unreadable", reason: "not JSON" };
    }
  }

  persist(boundMicros: number): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      const { epoch, lastReset } = this.epoch;
      writeSync(fd, `${JSON.stringify({ upperBoundMicros: boundMicros, upperBound: new Date(boundMicros / 1000).toISOString(), epoch, ...(lastReset ? { lastReset } : {}) })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    // The rename is durable only once the directory entry is.
    const dirFd = openSync(this.dir, "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

function isResetRecord(v: unknown): v is ResetRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.epoch === "number" &&
    typeof r.atMicros === "number" &&
    typeof r.at === "string" &&
    typeof r.reason === "string" &&
    typeof r.fromWallMicros === "number" &&
    typeof r.toWallMicros === "number"
  );
}
