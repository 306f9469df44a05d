/**
 * The HLC reset protocol (§12.1.2) and the epoch every client is told about.
 *
 * An HLC never steps back — except by a reset. When one has run far ahead of physical time (a forward jump
 * of the clock that was then corrected, a peer that dragged it, a restored snapshot), waiting for physical
 * time to catch up may take hours, and a restart refuses to start below the persisted bound. A reset steps
 * the HLC back to the physical clock *and begins a new epoch*: timestamps are ordered by (epoch, wall,
 * logical), so within the clock domain order is kept, and a timestamp or token from an older epoch is never
 * silently compared with a newer one — it is answered 409 `hlc reset`, naming both epochs and the reset.
 *
 * Wire: every response carries `x-meridian-hlc-epoch: N` beside `x-meridian-hlc`. A request may name its
 * epoch the same way, or by suffixing a timestamp `@N` (`1732412345123456.3@2`); consistency tokens carry
 * it as that suffix from epoch 1 on (a token without one is from epoch 0). Parsers that predate epochs
 * refuse a suffixed value rather than misread it. An HLC header without an epoch (an epoch-unaware peer)
 * is still applied, under the max-offset check that keeps every HLC within max offset of physical time.
 *
 * Safe reset conditions (`resetRefusal`): the epoch must be durable (a `dataDir`: the epoch is written in
 * the same atomic file as the HLC upper bound, so a reset's new epoch and its lower bound land together);
 * the HLC must lead the physical clock by at least `minLeadMs` (a smaller lead drains by itself, and a
 * reset would only disturb clients); and, when the node has a time reference, the physical clock must be
 * measured and within the skew monitor's degrade threshold of it — resetting onto a wrong clock repeats
 * the fault. Offline (`resetDataDir`, `meridian time reset`), with the service stopped, the same file is
 * rewritten with the next epoch and a bound at the present, for a clock that refuses to start because its
 * persisted bound is far ahead.
 */
import type { Clock } from "../common/clock.js";
import { DirectoryLockedError, lockDirectory } from "../common/dir-lock.js";
import type { ClockNode } from "./node.js";
import { format, microsFromMs, parse, TimestampParseError, type Timestamp } from "./timestamp.js";
import { FileUpperBound, type EpochState, type ResetRecord } from "./upper-bound.js";

export const EPOCH_HEADER = "x-meridian-hlc-epoch";

/** A timestamp or token from another epoch than the clock's. */
export class HlcEpochError extends Error {
  override name = "HlcEpochError";
  constructor(
    message: string,
    /** "reset": from an epoch before the clock's (discard it, re-read); "unknown": from one it never had. */
    readonly kind: "reset" | "unknown",
    readonly given: number,
    readonly current: number,
  ) {
    super(message);
  }
}

/** An HLC timestamp that names no epoch, on a node that requires one (`requireEpoch`). */
export class MissingHlcEpochError extends Error {
  override name = "MissingHlcEpochError";
}

/** Throws MissingHlcEpochError when the node requires an epoch and a timestamp came without one. */
export function requireEpochOf(node: ClockNode, epoch: number | null, what: string, where: string): void {
  if (epoch === null && node.requireEpoch) throw new MissingHlcEpochError(`${what} names no HLC epoch, and this service requires one (MERIDIAN_HLC_REQUIRE_EPOCH): send ${where} with it`);
}

const EPOCH_TEXT = /^\d{1,9}$/;

/** An epoch as a header or suffix carries it; throws TimestampParseError naming the input. */
export function parseEpoch(text: string): number {
  const t = text.trim();
  if (!EPOCH_TEXT.test(t)) throw new TimestampParseError(`invalid HLC epoch "${text.slice(0, 32)}"; expected a non-negative integer`);
  return Number(t);
}

/** `<wall>.<logical>` or `<wall>.<logical>@<epoch>`: the timestamp, and the epoch when the text names one. */
export function parseStamped(text: string): { timestamp: Timestamp; epoch: number | null } {
  const at = text.indexOf("@");
  if (at < 0) return { timestamp: parse(text), epoch: null };
  return { timestamp: parse(text.slice(0, at)), epoch: parseEpoch(text.slice(at + 1)) };
}

/** A consistency token: the timestamp, suffixed with its epoch from epoch 1 on (epoch 0 keeps the plain form). */
/**
 * A consistency token: `<wall>.<logical>@<epoch>`, the suffix left off at epoch 0 for older clients unless
 * `explicit` — a node that requires epochs (requireEpoch) names even epoch 0, since it refuses tokens without one.
 */
export function formatToken(t: Timestamp, epoch: number, explicit = false): string {
  return epoch === 0 && !explicit ? format(t) : `${format(t)}@${epoch}`;
}

/** A consistency token's timestamp and epoch (a token without a suffix is from epoch 0; strict nodes refuse it first, http.ts). */
export function parseToken(text: string): { timestamp: Timestamp; epoch: number } {
  const { timestamp, epoch } = parseStamped(text);
  return { timestamp, epoch: epoch ?? 0 };
}

/** Throws HlcEpochError unless `given` is the node's epoch. `what` names the value in the message. */
export function checkEpoch(node: ClockNode, given: number, what: string): void {
  const current = node.epoch.epoch;
  if (given === current) return;
  const r = node.epoch.lastReset;
  if (given < current) {
    const since = r ? ` since ${r.at} (${r.reason}; the HLC stepped back ${fmtMs((r.fromWallMicros - r.toWallMicros) / 1000)})` : "";
    throw new HlcEpochError(
      `${what} is from HLC epoch ${given}; this clock was reset to epoch ${current}${since}: timestamps of different epochs are not comparable — discard it and re-read to get an epoch ${current} value`,
      "reset",
      given,
      current,
    );
  }
  throw new HlcEpochError(`${what} names HLC epoch ${given}, but this clock is at epoch ${current}: it is from another clock domain, or forged`, "unknown", given, current);
}

export interface ResetOptions {
  /** The persisted epoch and bound (the service's FileUpperBound); null: no dataDir, so no reset. */
  store: FileUpperBound | null;
  /** The HLC must lead the physical clock by at least this much. */
  minLeadMs: number;
  /** Whether the node is measured against a time reference (grandmaster or chrony). */
  referenced: boolean;
}

/** Why a reset must not run now, or null when it may. */
function resetRefusal(node: ClockNode, o: ResetOptions): string | null {
  if (o.store === null) return "an HLC reset needs dataDir: the new epoch must survive a restart, or clients would be told an epoch the next process has forgotten";
  const leadMs = node.hlc.leadMicros() / 1000;
  if (leadMs < o.minLeadMs)
    return `the HLC leads the physical clock by ${fmtMs(leadMs)}, below the reset threshold of ${fmtMs(o.minLeadMs)}: it drains by itself as physical time catches up; nothing to reset`;
  if (o.referenced) {
    const offset = node.skew.offsetMs;
    if (offset === null) return "the physical clock has not been measured against its time reference yet: a reset onto an unverified clock could repeat the fault";
    // The clock must be certainly within the degrade threshold: the measurement's error bound counts against it.
    const bound = node.skew.errorBoundMs ?? 0;
    if (Math.abs(offset) + bound >= node.skew.degradeMs)
      return `the physical clock is ${fmtMs(offset)} ± ${fmtMs(bound)} off its time reference (degrade threshold ${fmtMs(node.skew.degradeMs)}): fix the clock, or wait for a closer measurement, before resetting the HLC onto it`;
  }
  return null;
}

export class HlcResetRefusedError extends Error {
  override name = "HlcResetRefusedError";
}

/**
 * Run the protocol: check the conditions, write the next epoch with a bound at physical now + lead (one
 * atomic file), step the HLC back, and only then tell clients (the node's epoch, which every response
 * carries). Throws HlcResetRefusedError naming the unmet condition; a failed write changes nothing.
 */
export function resetHlc(node: ClockNode, o: ResetOptions & { clock: Clock; reason: string }): ResetRecord {
  const refusal = resetRefusal(node, o);
  if (refusal !== null) throw new HlcResetRefusedError(refusal);
  const store = o.store!;
  const previous = store.epoch;
  const atMicros = microsFromMs(o.clock.now());
  const from = node.hlc.peek();
  const record: ResetRecord = { epoch: previous.epoch + 1, atMicros, at: new Date(atMicros / 1000).toISOString(), reason: o.reason, fromWallMicros: from.wall, toWallMicros: 0 };
  store.epoch = { epoch: record.epoch, lastReset: record };
  let to: Timestamp;
  try {
    to = node.hlc.reset().to;
  } catch (e) {
    store.epoch = previous;
    throw e;
  }
  record.toWallMicros = to.wall;
  // The epoch is durable already; write the record again with where the HLC stepped to.
  store.persist(node.hlc.upperBoundMicros);
  node.setEpoch({ epoch: record.epoch, lastReset: record });
  return record;
}

/**
 * The offline reset (`meridian time reset`), with the service stopped: the next epoch, and a bound at the
 * present (so the next start waits out max offset rather than refusing a bound far ahead). Returns what
 * was there and what is there now.
 */
export function resetDataDir(dir: string, clock: Clock, reason: string): { file: string; previous: { epoch: number; upperBoundMicros: number | null }; reset: ResetRecord } {
  const store = new FileUpperBound(dir);
  const lock = lockForReset(dir);
  try {
    return resetLocked(store, clock, reason);
  } finally {
    lock.release();
  }
}

/** The lock a clock service holds on its dataDir while it runs (runtime/common/dir-lock.ts). */
export const DATA_DIR_LOCK = "clock.lock";

/** The dataDir's lock for an offline reset; HlcResetRefusedError naming the clock service that holds it. */
function lockForReset(dir: string): { release(): void } {
  try {
    return lockDirectory(dir, DATA_DIR_LOCK, "a running clock service");
  } catch (e) {
    if (!(e instanceof DirectoryLockedError)) throw e;
    throw new HlcResetRefusedError(`refusing to reset: ${e.message}; stop it first, or reset the running service with POST /v1/time/reset`);
  }
}

function resetLocked(store: FileUpperBound, clock: Clock, reason: string): { file: string; previous: { epoch: number; upperBoundMicros: number | null }; reset: ResetRecord } {
  const state = store.read();
  if (state.kind === "unreadable")
    throw new HlcResetRefusedError(`${store.path} is unreadable (${state.reason}): its epoch is unknown, so the next one cannot be chosen; restore it or remove it (epoch 0)`);
  const previousEpoch: EpochState = state.kind === "bound" ? (state.epoch ?? store.epoch) : store.epoch;
  const atMicros = microsFromMs(clock.now());
  const reset: ResetRecord = {
    epoch: previousEpoch.epoch + 1,
    atMicros,
    at: new Date(atMicros / 1000).toISOString(),
    reason,
    fromWallMicros: state.kind === "bound" ? state.boundMicros : 0,
    toWallMicros: atMicros,
  };
  store.epoch = { epoch: reset.epoch, lastReset: reset };
  store.persist(atMicros);
  return { file: store.path, previous: { epoch: previousEpoch.epoch, upperBoundMicros: state.kind === "bound" ? state.boundMicros : null }, reset };
}

const fmtMs = (ms: number) => `${Number(ms.toFixed(3))} ms`;
