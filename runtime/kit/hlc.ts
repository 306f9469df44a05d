/**
 * HLC propagation on HTTP, the kit's half (runtime/clock builds the hooks: `hlcParts(node)`). Every request's
 * time headers are taken in after authorization (an unauthenticated caller cannot move the service's clock,
 * even within max offset) and before the handler — refused (an HttpError: 400 malformed,
 * 409 beyond max offset, outside the gateway's bound, or from an older HLC epoch) without being applied —
 * and every response, errors included, carries the service's HLC (and, with `stampHeaders`, its epoch and
 * the time rendered for legacy clients).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Registry } from "prom-client";
import type { Clock } from "../common/clock.js";
import type { ConsistencyHooks } from "./consistency.js";

export interface HlcHooks {
  /** The HLC header (`x-meridian-hlc`). */
  header: string;
  /** Forward the service's HLC to a request's header value (used when `inbound` is absent). */
  receive(value: string): void;
  /** The service's HLC now, for the response header (used when `stampHeaders` is absent). */
  stamp(): string;
  /** Take in every request's time headers (HLC, its epoch, physical/legacy time); replaces `receive`. */
  inbound?(headers: IncomingHttpHeaders): void;
  /** Every response's time headers, from one HLC reading; replaces `stamp`. */
  stampHeaders?(): Record<string, string>;
}

/** Take in a request's time headers (throws the service's HttpError refusal, unapplied). */
export function hlcInbound(hlc: HlcHooks): (headers: IncomingHttpHeaders) => void {
  if (hlc.inbound) return hlc.inbound.bind(hlc);
  return (headers) => {
    const raw = headers[hlc.header];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined && value !== "") hlc.receive(value);
  };
}

/** Stamp a response with the service's time headers. */
export function hlcStamp(hlc: HlcHooks): (reply: FastifyReply) => void {
  if (hlc.stampHeaders) return (reply) => void reply.headers(hlc.stampHeaders!());
  return (reply) => void reply.header(hlc.header, hlc.stamp());
}

export function installHlcHooks(app: FastifyInstance, hlc: HlcHooks): void {
  const inbound = hlcInbound(hlc);
  const stamp = hlcStamp(hlc);
  // Callback hooks (a refusal thrown here reaches fastify's error path all the same): no promise per request.
  app.addHook("onRequest", (req, _reply, done) => {
    inbound(req.headers);
    done();
  });
  app.addHook("onSend", (_req, reply, payload, done) => {
    stamp(reply);
    done(null, payload);
  });
}

/** The time handling a service gets when it brings none of its own (it gives no `hlc`). */
export interface DefaultTimeParts {
  hlc?: HlcHooks;
  consistency?: ConsistencyHooks;
}

/**
 * Builds a service's default time handling from its clock and metrics registry (runtime/clock's
 * `timeFromEnv()`: a ClockNode when MERIDIAN_HLC_MAX_OFFSET_MS is set, as every deployed pod's is).
 */
export type DefaultTime = (ctx: { service: string; clock: Clock; metrics: Registry }) => DefaultTimeParts | undefined | Promise<DefaultTimeParts | undefined>;

let processDefault: DefaultTime | undefined;

/**
 * Set the default every `runService` in this process uses (the `meridian` command sets runtime/clock's
 * `timeFromEnv()` once, so every service it serves propagates the HLC from one place). In-process callers
 * (`startService`: tests, `meridian local`) pass `time` explicitly instead.
 */
export function setDefaultTime(time: DefaultTime | undefined): void {
  processDefault = time;
}

export function defaultTime(): DefaultTime | undefined {
  return processDefault;
}
