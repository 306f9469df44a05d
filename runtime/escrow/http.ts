/**
 * The escrow HTTP API (fastify). A request names its region in `X-Region`, as the GSLB would route it.
 *   POST   /v1/inventory/:sku                 {total}        201 created | 200 same total | 409 different total
 *   POST   /v1/inventory/:sku/reservations    {user, qty, tier?}  201 {reservationId, expiresAt}
 *          | 409 sold out | 429 + Retry-After (rate, queue, refill) | 403 per-user limit | 503 + Retry-After
 *   POST   /v1/reservations/:id/commit        200 sold | 404 unknown | 410 expired | 409 void | 503
 *   DELETE /v1/reservations/:id               204 | 404 | 409 already sold
 *   GET    /v1/inventory/:sku                 {total, sold, reserved, available, pool, regions, warnings}
 *   GET    /v1/inventory/:sku/reconciliation  the last reconciliation report (cycles run on the service tick)
 * Bodies are parsed with zod; a rejected request answers `{error, detail}` and changes nothing.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../common/http.js";
import type { EscrowService } from "./service.js";

const skuParam = z.object({ sku: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a SKU: letters, digits, '.', '_' or '-', at most 64") });
const idParam = z.object({ id: z.string().min(1).max(300) });
const createBody = z.object({ total: z.number().int("expected a whole number of units").positive().max(1e12) }).strict();
const reserveBody = z
  .object({
    user: z.string().min(1).max(128),
    qty: z.number().int("expected a whole number of units").min(1).max(1000),
    /** Weighted queues: premium buyers are drawn three times as often. */
    tier: z.enum(["standard", "premium"]).optional(),
  })
  .strict();

const TIER_WEIGHT = { standard: 1, premium: 3 } as const;

/** A store call that fails (connection refused, timeout) is a 503 the client may retry, not a 500. */
async function store<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(503, "unavailable", `escrow store: ${(err as Error).message}`, { "retry-after": "1" });
  }
}

function retryAfter(ms: number): Record<string, string> {
  return { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))) };
}

export function buildEscrowApp(service: EscrowService, opts: { logger?: boolean } = {}): FastifyInstance {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 16 * 1024 });
  installErrorHandler(app);

  const region = (req: FastifyRequest): string => {
    const raw = req.headers["x-region"];
    if (raw === undefined || raw === "") throw new HttpError(400, "missing X-Region", `name the region in an X-Region header; this process serves ${service.regions.join(", ")}`);
    const id = Array.isArray(raw) ? raw[0]! : raw;
    if (!service.serves(id)) throw new HttpError(421, "misdirected request", `region "${id}" is not served here; this process serves ${service.regions.join(", ")}`);
    return id;
  };

  app.post("/v1/inventory/:sku", async (req, reply) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    region(req);
    const { total } = parseInput(createBody, req.body, "body");
    const { outcome, allocation } = await store(service.createItem(sku, total));
    if (outcome === "conflict") throw new HttpError(409, "item exists", `${sku} already exists with a different total`);
    return reply.status(outcome === "created" ? 201 : 200).send({ sku, total, allocation });
  });

  app.post("/v1/inventory/:sku/reservations", async (req, reply) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    const r = region(req);
    const body = parseInput(reserveBody, req.body, "body");
    const out = await store(service.reserve(r, sku, body.user, body.qty, TIER_WEIGHT[body.tier ?? "standard"]));
    if (out === null) throw new HttpError(404, "unknown item", `no inventory ${sku}; create it with POST /v1/inventory/${sku}`);
    switch (out.status) {
      case "reserved":
        return reply.status(201).send({ reservationId: out.reservation.id, expiresAt: new Date(out.reservation.expiresAtMs).toISOString(), qty: out.reservation.qty, warnings: out.warnings });
      case "sold-out":
        throw new HttpError(409, "sold out", out.detail);
      case "throttled":
        return reply.status(429).headers(retryAfter(out.retryAfterMs)).send({ error: "try again later", detail: out.detail, retryAfterMs: out.retryAfterMs, queuePosition: out.queuePosition });
      case "unavailable":
        return reply.status(503).headers(retryAfter(out.retryAfterMs)).send({ error: "unavailable", detail: out.detail, retryAfterMs: out.retryAfterMs });
      case "forbidden":
        throw new HttpError(403, "per-user limit", out.detail);
    }
  });

  app.post("/v1/reservations/:id/commit", async (req, reply) => {
    const { id } = parseInput(idParam, req.params, "path");
    region(req);
    const out = await store(service.commit(id));
    switch (out.status) {
      case "sold":
        return reply.status(200).send({ reservationId: id, sku: out.sku, qty: out.qty, status: "sold", duplicate: out.duplicate });
      case "unknown":
        throw new HttpError(404, "unknown reservation", `no live reservation ${id}`);
      case "expired":
        throw new HttpError(410, "reservation expired", `${id} expired before it was committed; its units were released`);
      case "in-progress":
        throw new HttpError(409, "commit in progress", `${id} is being committed by another request`);
      case "lease-lost":
        throw new HttpError(409, "reservation void", `${id} was held by a region whose lease lapsed; reserve again`);
      case "unavailable":
        return reply.status(503).headers(retryAfter(out.retryAfterMs)).send({ error: "unavailable", detail: out.detail, retryAfterMs: out.retryAfterMs });
    }
  });

  app.delete("/v1/reservations/:id", async (req, reply) => {
    const { id } = parseInput(idParam, req.params, "path");
    region(req);
    const out = await store(service.cancel(id));
    if (out === "unknown") throw new HttpError(404, "unknown reservation", `no live reservation ${id}`);
    if (out === "sold") throw new HttpError(409, "already sold", `${id} was committed; it cannot be cancelled`);
    return reply.status(204).send();
  });

  app.get("/v1/inventory/:sku", async (req) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    region(req);
    const view = await store(service.inventory(sku));
    if (!view) throw new HttpError(404, "unknown item", `no inventory ${sku}`);
    return view;
  });

  app.get("/v1/inventory/:sku/reconciliation", async (req) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    region(req);
    const rep = service.reconciliations.get(sku);
    if (!rep) throw new HttpError(404, "no reconciliation", `no reconciliation cycle of ${sku} has run in this process yet`);
    return rep;
  });

  return app;
}
