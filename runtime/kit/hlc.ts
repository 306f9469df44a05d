/**
 * HLC propagation on HTTP, the kit's half (runtime/clock builds the hooks: `hlcParts(node)`). Every request's
 * time headers are taken in before authorization and the handler — refused (an HttpError: 400 malformed,
 * 409 beyond max offset, outside the gateway's bound, or from an older HLC epoch) without being applied —
 * and every response, errors included, carries the service's HLC (and, with `stampHeaders`, its epoch and
 * the time rendered for legacy clients).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance } from "fastify";

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

export function installHlcHooks(app: FastifyInstance, hlc: HlcHooks): void {
  app.addHook("onRequest", async (req) => {
    if (hlc.inbound) return hlc.inbound(req.headers);
    const raw = req.headers[hlc.header];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined && value !== "") hlc.receive(value);
  });
  app.addHook("onSend", async (_req, reply, payload) => {
    if (hlc.stampHeaders) for (const [name, value] of Object.entries(hlc.stampHeaders())) reply.header(name, value);
    else reply.header(hlc.header, hlc.stamp());
    return payload;
  });
}
