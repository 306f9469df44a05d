/**
 * HLC over HTTP. `hlcParts(node)` is what every runtime service gives the kit (runtime/kit/hlc.ts,
 * consistency.ts) — one place for the time headers of every API:
 *  - in: `x-meridian-hlc` forwards the node's HLC (400 malformed, 409 beyond max offset — neither applied);
 *    its epoch (`x-meridian-hlc-epoch`, or an `@N` suffix) must be the node's: an older one is answered 409
 *    `hlc reset`, an unknown one 409 `unknown hlc epoch` (runtime/clock/epoch.ts); a physical or legacy
 *    timestamp in `x-meridian-time` (RFC 3339 or HTTP-date, ± `x-meridian-time-uncertainty-ms`) from a
 *    client with no HLC is mapped into HLC with its uncertainty and forwards the clock, or is refused 409
 *    outside the bound (runtime/clock/gateway.ts);
 *  - out: every response carries `x-meridian-hlc`, `x-meridian-hlc-epoch` and `x-meridian-time` (the same
 *    HLC reading as RFC 3339, for clients that know no HLC);
 *  - consistency tokens (`x-meridian-consistency`) are the node's HLC after the write, with its epoch; a
 *    request's token from an older epoch is answered 409 `hlc reset` before the handler runs (under
 *    requireEpoch one naming no epoch is 400 `hlc epoch required`, not read as epoch 0), one within
 *    max offset forwards the node's HLC (so the answer is at or after it), one further ahead 409.
 * `installHlc` does the same on a fastify app not built by the kit. `clockRoutes` adds GET /v1/time,
 * /v1/time/skew and the gateway's POST /v1/time/translate; `resetRoute` the operator's POST /v1/time/reset.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Clock } from "../common/clock.js";
import { CONSISTENCY_HEADER, HttpError, installConsistencyTokens, installHlcHooks, parseInput, type ConsistencyHooks, type HlcHooks } from "../kit/index.js";
import { checkEpoch, EPOCH_HEADER, HlcEpochError, HlcResetRefusedError, MissingHlcEpochError, parseEpoch, parseStamped, formatToken, requireEpochOf, resetHlc, type ResetOptions } from "./epoch.js";
import {
  headerInterval,
  intoHlc,
  legacyInterval,
  physicalInterval,
  renderHlc,
  rfc3339Micros,
  TIME_HEADER,
  TIME_UNCERTAINTY_HEADER,
  TimeInputError,
  TimeOutOfBoundError,
  type GatewayBounds,
} from "./gateway.js";
import { UntrustworthyRemoteWallTimeError } from "./hlc.js";
import type { ClockNode } from "./node.js";
import { HTTP_HEADER } from "./propagation.js";
import { format, microsFromMs, TimestampParseError } from "./timestamp.js";

/** The clock domain gateway's bound: the widest interval mapped into HLC (default 1 s, a legacy second's width). */
export const DEFAULT_MAX_UNCERTAINTY_MS = 1000;

export interface HttpHlcOptions {
  maxUncertaintyMs?: number;
}

/** A clock, epoch or gateway error as the HTTP answer; anything else is rethrown. */
function asHttp(node: ClockNode, e: unknown): never {
  if (e instanceof TimestampParseError || e instanceof TimeInputError) {
    node.metrics.gatewayRefused("invalid");
    throw new HttpError(400, e instanceof TimeInputError ? "invalid timestamp" : "invalid HLC timestamp", e.message);
  }
  if (e instanceof UntrustworthyRemoteWallTimeError) throw new HttpError(409, "untrustworthy HLC timestamp", e.message);
  if (e instanceof TimeOutOfBoundError) {
    node.metrics.gatewayRefused("out-of-bound");
    throw new HttpError(409, "timestamp outside the bound", e.message);
  }
  if (e instanceof MissingHlcEpochError) {
    node.metrics.gatewayRefused("no-epoch");
    throw new HttpError(400, "hlc epoch required", e.message);
  }
  if (e instanceof HlcEpochError) {
    node.metrics.gatewayRefused(e.kind === "reset" ? "reset" : "unknown-epoch");
    throw new HttpError(409, e.kind === "reset" ? "hlc reset" : "unknown hlc epoch", e.message);
  }
  throw e;
}

const first = (v: string | string[] | undefined): string | undefined => {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === "" ? undefined : s;
};

function bounds(node: ClockNode, maxUncertaintyMs: number): GatewayBounds {
  return { nowMicros: node.hlc.physicalNow(), maxOffsetMicros: node.hlc.maxOffsetMicros, maxUncertaintyMicros: microsFromMs(maxUncertaintyMs) };
}

/** The kit's HlcHooks shape (runtime/kit), built from a ClockNode. */
export function httpHlc(node: ClockNode, o: HttpHlcOptions = {}): HlcHooks {
  const maxUncertaintyMs = o.maxUncertaintyMs ?? DEFAULT_MAX_UNCERTAINTY_MS;
  const receive = (value: string, epochText: string | undefined) => {
    try {
      const stamped = parseStamped(value);
      const fromHeader = epochText === undefined ? null : parseEpoch(epochText);
      if (stamped.epoch !== null && fromHeader !== null && stamped.epoch !== fromHeader)
        throw new TimestampParseError(`${HTTP_HEADER} names epoch ${stamped.epoch} but ${EPOCH_HEADER} says ${fromHeader}`);
      const epoch = stamped.epoch ?? fromHeader;
      requireEpochOf(node, epoch, `${HTTP_HEADER} ${value.slice(0, 48)}`, `${EPOCH_HEADER} (or an @N suffix)`);
      // Checked before anything is applied: an older epoch's timestamp is never compared with ours.
      if (epoch !== null) checkEpoch(node, epoch, `${HTTP_HEADER} ${value.slice(0, 48)}`);
      node.receive(stamped.timestamp);
    } catch (e) {
      asHttp(node, e);
    }
  };
  return {
    header: HTTP_HEADER,
    receive: (value) => receive(value, undefined),
    inbound(headers: IncomingHttpHeaders) {
      const hlc = first(headers[HTTP_HEADER]);
      const epoch = first(headers[EPOCH_HEADER]);
      if (hlc !== undefined) return receive(hlc, epoch);
      try {
        // A client telling its epoch without a timestamp is told of a reset all the same.
        if (epoch !== undefined) checkEpoch(node, parseEpoch(epoch), EPOCH_HEADER);
        const time = first(headers[TIME_HEADER]);
        if (time === undefined) return;
        const mapped = intoHlc(headerInterval(time, first(headers[TIME_UNCERTAINTY_HEADER])), bounds(node, maxUncertaintyMs), `${TIME_HEADER} ${time.slice(0, 48)}`);
        node.hlc.update(mapped.hlc);
      } catch (e) {
        asHttp(node, e);
      }
    },
    stamp: () => format(node.hlc.now()),
    stampHeaders(): Record<typeof HTTP_HEADER | typeof EPOCH_HEADER | typeof TIME_HEADER, string> {
      const t = node.hlc.now();
      // The names spelled out (the type above holds them to the constants): V8 builds an object literal with
      // computed keys in its runtime, ~6k instructions a response, and one with literal keys from a template.
      return { "x-meridian-hlc": format(t), "x-meridian-hlc-epoch": String(node.epoch.epoch), "x-meridian-time": rfc3339Micros(t.wall) };
    },
  };
}

/** Consistency tokens of the node's HLC with its epoch; older-epoch tokens answered `hlc reset`. */
function hlcConsistency(node: ClockNode): ConsistencyHooks {
  return {
    token: () => formatToken(node.hlc.now(), node.epoch.epoch, node.requireEpoch),
    check(token) {
      try {
        const what = `consistency token ${token.slice(0, 48)}`;
        const { timestamp, epoch } = parseStamped(token);
        // Under strict epochs a token without `@N` is refused like an epoch-less HLC header, not read as epoch 0.
        requireEpochOf(node, epoch, what, `${CONSISTENCY_HEADER} as this service returned it (<wall>.<logical>@<epoch>)`);
        checkEpoch(node, epoch ?? 0, what);
        // Read-your-writes: what answers this request is at or after the token (CockroachDB forwards a
        // reader's clock the same way); a token further ahead than max offset is refused 409, unapplied.
        node.receive(timestamp);
      } catch (e) {
        asHttp(node, e instanceof TimestampParseError ? new TimestampParseError(`${CONSISTENCY_HEADER}: ${e.message}`) : e);
      }
    },
  };
}

/** What a service built on the kit returns to get the time headers and consistency tokens: `...hlcParts(node)`. */
export function hlcParts(node: ClockNode, o: HttpHlcOptions = {}): { hlc: HlcHooks; consistency: ConsistencyHooks } {
  return { hlc: httpHlc(node, o), consistency: hlcConsistency(node) };
}

/** The same on a fastify app not built by the kit; `consistencyTokens` also stamps writes and checks tokens' epochs. */
export function installHlc(app: FastifyInstance, node: ClockNode, o: HttpHlcOptions & { consistencyTokens?: boolean } = {}): void {
  installHlcHooks(app, httpHlc(node, o));
  if (o.consistencyTokens) installConsistencyTokens(app, hlcConsistency(node));
}

const uncertaintyMs = z.number().nonnegative().max(86_400_000);
const translateBody = z.discriminatedUnion("from", [
  z.object({ from: z.literal("physical"), value: z.union([z.string().max(64), z.number()]), uncertaintyMs: uncertaintyMs.optional() }).strict(),
  z.object({ from: z.literal("legacy"), value: z.union([z.string().max(64), z.number()]), uncertaintyMs: uncertaintyMs.optional() }).strict(),
  z.object({ from: z.literal("hlc"), value: z.string().max(64), epoch: z.number().int().nonnegative().optional() }).strict(),
]);

/** GET /v1/time and /v1/time/skew, and the gateway's POST /v1/time/translate: public (a clock's reading is no secret). */
export function clockRoutes(app: FastifyInstance, node: ClockNode, o: HttpHlcOptions = {}): void {
  const pub = { config: { auth: "public" as const } };
  const maxUncertaintyMs = o.maxUncertaintyMs ?? DEFAULT_MAX_UNCERTAINTY_MS;
  app.get("/v1/time", pub, async () => {
    const s = node.status();
    return { ...s, hlc: format(s.hlc), epoch: node.epoch.epoch, lastReset: node.epoch.lastReset };
  });
  app.get("/v1/time/skew", pub, async () => {
    const { degradeMs, freezeMs, recoveryHoldMs, syncLossMs } = node.skew;
    // The thresholds in force, so an operator can see the rendered config reached the pod.
    const refusal = node.strongRefusal();
    return {
      state: node.skew.evaluate(),
      // The node's verdict (skew, ε bound, clock jumps), not the skew monitor's alone.
      allowsStrong: refusal === null,
      refusal,
      thresholds: { degradeMs, freezeMs, recoveryHoldMs, syncLossMs, maxEpsilonMs: node.maxEpsilonMs },
      events: node.skew.events(),
    };
  });
  // Translation only: the clock is not forwarded (send `x-meridian-time` on a request to do that).
  app.post("/v1/time/translate", { ...pub, bodyLimit: 1024 }, async (req) => {
    const body = parseInput(translateBody, req.body, "body");
    const epoch = node.epoch.epoch;
    try {
      if (body.from === "hlc") {
        const stamped = parseStamped(body.value);
        if (stamped.epoch !== null && body.epoch !== undefined && stamped.epoch !== body.epoch) throw new TimestampParseError(`value names epoch ${stamped.epoch} but epoch is ${body.epoch}`);
        const given = stamped.epoch ?? body.epoch;
        if (given !== undefined) checkEpoch(node, given, `HLC ${body.value}`);
        return { from: "hlc", ...renderHlc(stamped.timestamp, given ?? epoch), epochChecked: given !== undefined };
      }
      const interval = body.from === "physical" ? physicalInterval(body.value, body.uncertaintyMs) : legacyInterval(body.value, body.uncertaintyMs);
      const mapped = intoHlc(interval, bounds(node, maxUncertaintyMs), `${body.from} timestamp ${JSON.stringify(body.value)}`);
      return { from: body.from, ...renderHlc(mapped.hlc, epoch), earliest: format(mapped.earliest), latest: format(mapped.latest), uncertaintyMs: mapped.uncertaintyMs };
    } catch (e) {
      return asHttp(node, e);
    }
  });
}

/** POST /v1/time/reset {reason}: the HLC reset protocol (operator only); 409 naming the unmet condition. */
export function resetRoute(app: FastifyInstance, node: ClockNode, o: ResetOptions & { clock: Clock; onReset?: (r: ReturnType<typeof resetHlc>) => void }): void {
  const body = z.object({ reason: z.string().trim().min(1).max(500) }).strict();
  app.post("/v1/time/reset", { config: { auth: "operator" as const }, bodyLimit: 2048 }, async (req) => {
    const { reason } = parseInput(body, req.body, "body");
    try {
      const r = resetHlc(node, { ...o, reason });
      o.onReset?.(r);
      return {
        epoch: r.epoch,
        previousEpoch: r.epoch - 1,
        at: r.at,
        reason: r.reason,
        from: format({ wall: r.fromWallMicros, logical: 0 }),
        to: format(node.hlc.peek()),
        steppedBackMs: (r.fromWallMicros - r.toWallMicros) / 1000,
      };
    } catch (e) {
      if (e instanceof HlcResetRefusedError) throw new HttpError(409, "hlc reset refused", e.message);
      throw e;
    }
  });
}
