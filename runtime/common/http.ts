/**
 * HTTP conventions shared by every runtime service: errors answer `{error, detail}` with a 4xx/5xx
 * status, and request bodies are parsed with zod so a malformed body names what is wrong.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { z } from "zod";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${error}: ${detail}`);
  }
}

/** Parse a request part with zod or throw a 400 naming every problem. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const detail = result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : what}: ${i.message}`).join("; ");
  throw new HttpError(400, `invalid ${what}`, detail);
}

/** Install the `{error, detail}` error handler (also for fastify's own errors: bad JSON, body too large). */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, _req, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      void reply.status(err.status).headers(err.headers).send({ error: err.error, detail: err.detail });
      return;
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    void reply.status(status).send({ error: status >= 500 ? "internal error" : (e.code ?? "bad request"), detail: e.message ?? String(err) });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: "not found", detail: `${req.method} ${req.url}` });
  });
}
