/**
 * HLC over HTTP: `httpHlc(node)` gives the service kit its HLC hooks — every request's `x-meridian-hlc`
 * header forwards the node's HLC (a malformed value answers 400, one beyond max offset 409 — and neither
 * is applied), and every response carries the node's `now()` back, so causality flows both ways through
 * the gateway. `installHlc` does the same on a fastify app not (yet) built by the kit. `clockRoutes` adds
 * GET /v1/time and GET /v1/time/skew for operators and drills.
 */
import type { FastifyInstance } from "fastify";
import { HttpError } from "../common/http.js";
import { UntrustworthyRemoteWallTimeError } from "./hlc.js";
import type { ClockNode } from "./node.js";
import { HTTP_HEADER } from "./propagation.js";
import { format, parse, TimestampParseError } from "./timestamp.js";

/** The kit's HlcHooks shape (runtime/kit), built from a ClockNode. */
export function httpHlc(node: ClockNode): { header: string; receive(value: string): void; stamp(): string } {
  return {
    header: HTTP_HEADER,
    receive(value) {
      try {
        node.receive(parse(value));
      } catch (e) {
        if (e instanceof TimestampParseError) throw new HttpError(400, "invalid HLC timestamp", e.message);
        if (e instanceof UntrustworthyRemoteWallTimeError) throw new HttpError(409, "untrustworthy HLC timestamp", e.message);
        throw e;
      }
    },
    stamp: () => format(node.hlc.now()),
  };
}

export function installHlc(app: FastifyInstance, node: ClockNode): void {
  const hooks = httpHlc(node);
  app.addHook("onRequest", async (req) => {
    const raw = req.headers[HTTP_HEADER];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined && value !== "") hooks.receive(value);
  });
  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header(HTTP_HEADER, hooks.stamp());
    return payload;
  });
}

/** GET /v1/time and /v1/time/skew: read-only, public (a clock's reading is no secret). */
export function clockRoutes(app: FastifyInstance, node: ClockNode): void {
  const pub = { config: { auth: "public" as const } };
  app.get("/v1/time", pub, async () => {
    const s = node.status();
    return { ...s, hlc: format(s.hlc) };
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
}
