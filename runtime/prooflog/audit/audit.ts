/**
 * Audit trails: structured events (HLC timestamp, actor, action, subject, optional detail) appended to a
 * transparency log, so that who-did-what-when cannot be rewritten afterwards without breaking the log's
 * consistency proofs. Events are encoded as canonical JSON (fixed field order, detail keys sorted), so the same
 * event always has the same leaf hash and a verifier can recompute it.
 *
 * The timestamp comes from an injected source: the hybrid logical clock of runtime/clock in production (wired
 * through `hlcTimestamps`), `monotonicTimestamps` where no HLC runs. A trail refuses a source that goes backwards, because the
 * HLC order of a trail's events is part of what the audit attests.
 */
import { z } from "zod";
import type { Clock } from "../../common/clock.js";

/** Hybrid logical clock timestamp (CockroachDB semantics): wall time in ms, then a logical counter. */
export interface HlcTimestamp {
  wallTime: number;
  logical: number;
}
export type TimestampSource = () => HlcTimestamp;

export interface AuditEvent {
  timestamp: HlcTimestamp;
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

/** Anything that appends an entry durably and returns its index: a TransparencyLog or a LogClient. */
export interface LogAppender {
  add(entry: Uint8Array): Promise<{ index: number }>;
}

const name = (what: string) => z.string().min(1, `${what} must not be empty`).max(1024, `${what} is longer than 1024 characters`);
const auditEventSchema = z.strictObject({
  v: z.literal(1),
  timestamp: z.strictObject({ wallTime: z.number().int().nonnegative(), logical: z.number().int().nonnegative() }),
  actor: name("actor"),
  action: name("action"),
  subject: name("subject"),
  detail: z.record(z.string(), z.unknown()).optional(),
});

export class AuditError extends Error {
  override name = "AuditError";
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function encodeAuditEvent(e: AuditEvent): Buffer {
  const doc: Record<string, unknown> = {
    v: 1,
    timestamp: { wallTime: e.timestamp.wallTime, logical: e.timestamp.logical },
    actor: e.actor,
    action: e.action,
    subject: e.subject,
  };
  if (e.detail !== undefined) doc["detail"] = canonical(e.detail);
  return Buffer.from(JSON.stringify(doc), "utf8");
}

/** Decode and validate a logged audit entry; throws AuditError naming what is wrong. */
export function decodeAuditEvent(entry: Uint8Array): AuditEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(entry).toString("utf8"));
  } catch {
    throw new AuditError("audit entry is not JSON");
  }
  const r = auditEventSchema.safeParse(raw);
  if (!r.success) throw new AuditError(`audit entry is malformed: ${r.error.issues.map((i) => `${i.path.join(".") || "entry"}: ${i.message}`).join("; ")}`);
  const { v: _v, ...event } = r.data;
  return event;
}

export const compareHlc = (a: HlcTimestamp, b: HlcTimestamp): number => a.wallTime - b.wallTime || a.logical - b.logical;

export class AuditTrail {
  private last: HlcTimestamp | null = null;

  constructor(
    private readonly log: LogAppender,
    private readonly now: TimestampSource,
  ) {}

  /** Timestamp, validate and append an event; resolves once it is durable in the log. */
  async record(e: Omit<AuditEvent, "timestamp">): Promise<{ index: number; event: AuditEvent }> {
    const timestamp = this.now();
    if (this.last && compareHlc(timestamp, this.last) <= 0) {
      throw new AuditError(`timestamp source went backwards: ${JSON.stringify(timestamp)} after ${JSON.stringify(this.last)}`);
    }
    const event: AuditEvent = { ...e, timestamp };
    const parsed = auditEventSchema.safeParse({ v: 1, ...event });
    if (!parsed.success) throw new AuditError(`audit event is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const entry = encodeAuditEvent(event);
    if (entry.length > 65_535) throw new AuditError(`audit event encodes to ${entry.length} bytes; the log takes at most 65535`);
    this.last = timestamp;
    const { index } = await this.log.add(entry);
    return { index, event };
  }
}

/**
 * The production source: a service's hybrid logical clock (runtime/clock, wall time in µs), as ms plus the
 * logical counter. Division by 1000 keeps the HLC's order, so a trail's events stay in causal order.
 */
export function hlcTimestamps(hlc: { now(): { wall: number; logical: number } }): TimestampSource {
  return () => {
    const t = hlc.now();
    return { wallTime: t.wall / 1000, logical: t.logical };
  };
}

/** A monotonic timestamp source from a plain clock (logical ticks within a millisecond), until an HLC is wired in. */
export function monotonicTimestamps(clock: Clock): TimestampSource {
  let last: HlcTimestamp = { wallTime: 0, logical: 0 };
  return () => {
    const wall = Math.floor(clock.now());
    last = wall > last.wallTime ? { wallTime: wall, logical: 0 } : { wallTime: last.wallTime, logical: last.logical + 1 };
    return last;
  };
}
