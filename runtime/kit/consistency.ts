/**
 * Consistency tokens for read-your-writes (§12.3.3). Every successful write response carries the
 * service's token in `x-meridian-consistency` — a position at or after the write (an HLC timestamp, an
 * LSN: the service decides what it is and stamps it once the write is durable). A client sends the last
 * token it holds on later reads; the service serves such a read only from a copy that has caught up to
 * the token (a replica whose watermark is at or past it, else the primary). The kit carries the header;
 * the service parses and compares tokens, and may set the header on a read itself (monotonic reads).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export const CONSISTENCY_HEADER = "x-meridian-consistency";

/** What a service gives the kit to stamp write responses. */
export interface ConsistencyHooks {
  /** A token at or after everything this service has made durable so far. */
  token(): string;
  /**
   * Refuse a request's token before the handler runs (throw an HttpError): malformed, or from an HLC epoch
   * before a reset — answered with a clear "reset" rather than compared with tokens of the new epoch.
   */
  check?(token: string): void;
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The token a request carries, if any (the first, if the header is repeated). */
export function consistencyTokenOf(req: FastifyRequest): string | undefined {
  const raw = req.headers[CONSISTENCY_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value === undefined || value === "" ? undefined : value;
}

/** Refuse a request's token before the handler runs (throws the service's HttpError), if the service checks tokens. */
export function consistencyInbound(hooks: ConsistencyHooks): ((req: FastifyRequest) => void) | undefined {
  const check = hooks.check;
  if (!check) return undefined;
  return (req) => {
    const token = consistencyTokenOf(req);
    if (token !== undefined) check(token);
  };
}

/** Stamp a successful write's response with the token, taken now: after the handler returned, so once the write is durable. */
export function consistencyStamp(hooks: ConsistencyHooks): (req: FastifyRequest, reply: FastifyReply) => void {
  return (req, reply) => {
    if (WRITES.has(req.method) && reply.statusCode < 400 && !reply.hasHeader(CONSISTENCY_HEADER)) reply.header(CONSISTENCY_HEADER, hooks.token());
  };
}

export function installConsistencyTokens(app: FastifyInstance, hooks: ConsistencyHooks): void {
  const inbound = consistencyInbound(hooks);
  const stamp = consistencyStamp(hooks);
  // Callback hooks (a refusal thrown here reaches fastify's error path all the same): no promise per request.
  if (inbound) {
    app.addHook("onRequest", (req, _reply, done) => {
      inbound(req);
      done();
    });
  }
  app.addHook("onSend", (req, reply, payload, done) => {
    stamp(req, reply);
    done(null, payload);
  });
}
