/**
 * What goes wrong, as types the kit and its callers check with `instanceof`: a refused request
 * (HttpError, answered `{error, detail}`), and the three ways a service fails to start — a listener that
 * cannot bind, a store that does not answer, a config that does not validate. Each startup failure is
 * one line an operator can act on; the CLI prints it and exits 1 (2 for config).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "../common/http.js";

export { HttpError, parseInput } from "../common/http.js";

/** A listener could not bind: names what, where, and the system's reason. */
export class BindError extends Error {
  override name = "BindError";
  constructor(
    readonly listener: string,
    readonly host: string,
    readonly port: number,
    readonly code: string | undefined,
  ) {
    super(`cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port} (${listener}): ${describeCode(code)}`);
  }
}

/** A store did not answer at startup within the store timeout. */
export class StoreUnreachableError extends Error {
  override name = "StoreUnreachableError";
  constructor(
    readonly store: string,
    readonly target: string,
    reason: string,
  ) {
    super(`store ${store} (${target}) unreachable: ${reason}`);
  }
}

function describeCode(code: string | undefined): string {
  switch (code) {
    case "EADDRINUSE":
      return "address already in use";
    case "EACCES":
      return "permission denied (ports below 1024 need privileges)";
    case "EADDRNOTAVAIL":
      return "address not available on this host";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name does not resolve";
    default:
      return code ?? "unknown error";
  }
}

/** Turn a listen() failure into a BindError naming host:port. */
export function bindError(listener: string, host: string, port: number, err: unknown): BindError {
  return new BindError(listener, host, port, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
}

/** fastify's own refusals, in words a client understands (its codes are kept in the detail). */
const FASTIFY_ERRORS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "body too large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported media type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid content-length",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid JSON",
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: "bad request",
  FST_ERR_VALIDATION: "invalid request",
};

/** Every error answers `{error, detail}`: 4xx say what is wrong; 5xx are logged and say only that. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      void reply.status(err.status).headers(err.headers).send({ error: err.error, detail: err.detail });
      return;
    }
    const e = err as Partial<FastifyError>;
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, "request failed");
      void reply.status(status).send({ error: "internal error", detail: `request ${req.id} failed; the service log has the cause` });
      return;
    }
    if (e instanceof SyntaxError || e.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
      void reply.status(400).send({ error: "invalid JSON", detail: e.message ?? "malformed body" });
      return;
    }
    void reply.status(status).send({ error: (e.code && FASTIFY_ERRORS[e.code]) ?? "bad request", detail: e.message ?? String(err) });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: "not found", detail: `${req.method} ${req.url.length > 200 ? `${req.url.slice(0, 200)}…` : req.url}` });
  });
}
