/**
 * HLC over HTTP for fastify services: every request's `x-meridian-hlc` header forwards the node's HLC
 * (a malformed value answers 400, one beyond max offset 409 — and neither is applied), and every response
 * carries the node's `now()` back, so causality flows both ways through the gateway. `clockRoutes` adds
 * GET /v1/time and GET /v1/time/skew for operators and drills.
 */
import type { FastifyInstance } from "fastify";
import { HttpError } from "../common/http.js";
import { UntrustworthyRemoteWallTimeError } from "./hlc.js";
import type { ClockNode } from "./node.js";
import { HTTP_HEADER } from "./propagation.js";
import { format, parse, TimestampParseError } from "./timestamp.js";

export function installHlc(app: FastifyInstance, node: ClockNode): void {
  app.addHook("onRequest", async (req) => {
    const raw = req.headers[HTTP_HEADER];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value === "") return;
    try {
      node.receive(parse(value));
    } catch (e) {
      if (e instanceof TimestampParseError) throw new HttpError(400, "invalid HLC timestamp", e.message);
      if (e instanceof UntrustworthyRemoteWallTimeError) throw new HttpError(409, "untrustworthy HLC timestamp", e.message);
      throw e;
    }
  });
  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header(HTTP_HEADER, format(node.hlc.now()));
    return payload;
  });
}

export function clockRoutes(app: FastifyInstance, node: ClockNode): void {
  app.get("/v1/time", async () => {
    const s = node.status();
    return { ...s, hlc: format(s.hlc) };
  });
  app.get("/v1/time/skew", async () => ({ state: node.skew.evaluate(), allowsStrong: node.skew.allowsStrong(), events: node.skew.events() }));
}
