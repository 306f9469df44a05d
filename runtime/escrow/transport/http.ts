/**
 * The escrow HTTP API (fastify). Buyers authenticate with `Authorization: Bearer <JWT>` (identity.ts);
 * a request names its region in `X-Region` as the GSLB routes it (optional when the process serves one).
 *   POST   /v1/inventory/:sku                 {total}   admin   201 created | 200 same total | 409 different total
 *   POST   /v1/inventory/:sku/reservations    {qty?}    buyer   201 {reservationId, expiresAt}
 *          | 409 sold out / only N left | 429 + Retry-After | 403 per-user cap | 503 + Retry-After
 *   POST   /v1/reservations/:id/commit                  owner   200 sold (duplicate: true on a replay)
 *          | 404 not yours or unknown | 410 expired, cancelled, or ended with an earlier run of its region (restarted)
 *          | 409 void | 403 per-user limit | 503
 *   GET    /v1/reservations/:id                         owner   200 {status: reserved | committing | sold | void | expired
 *          | cancelled | over-cap | restarted, qty?, expiresAt?} | 404 not yours or unknown | 503
 *   DELETE /v1/reservations/:id                         owner   204 (also asked again: idempotent) | 404 not yours or unknown
 *          | 409 already sold | 409 void | 409 commit in progress | 410 expired or restarted | 403 per-user limit (its commit was refused so)
 * Another buyer's reservation is answered exactly as an id nobody issued (404, the same body): nobody learns that
 * someone else holds or held one. Its owner is told how it ended, also after its region's process restarted (410
 * restarted: the earlier run's reservations ended with it; core/ids.ts `ownsToken` tells the owner with no memory of it).
 *   POST   /v1/sales/:id/refund                         admin   200 refunded | 200 already refunded | 404
 *   GET    /v1/inventory/:sku                           public  {total, sold, reserved, available, pool, regions, warnings}
 *   GET    /v1/inventory/:sku/reconciliation            admin   the last reconciliation and store verification
 *   POST   /v1/inventory/:sku/queue    [X-Queue-Token] buyer   200 the buyer's place in a scheduled sale's global
 *          waiting room: {queueToken, position, ahead, size, admitted, etaSeconds, releaseAt, pass?, warnings} | 403 token
 *          forged or not theirs | 404 no scheduled opening
 *   GET    /v1/inventory/:sku/queue     X-Queue-Token  buyer   the same, without joining
 * Reserving a scheduled SKU needs the pass in `X-Queue-Pass` (425 before the open, 403 without a valid pass).
 * A commit, cancel or GET of a reservation held by a region another process serves is forwarded to that
 * region's escrow (`peers`). Bodies are parsed with zod; a rejected request answers `{error, detail}`
 * and changes nothing. The routes are installed on the service kit's app (runtime/escrow/serve.ts), which
 * owns `/healthz`, `/readyz` (the stores and the clock), `/metrics`, limits, HLC headers and the drain.
 * Who may call is declared per route and checked by the kit before the handler (runtime/kit/auth.ts), from
 * verified credentials only — the buyer issuer's JWT (escrow's `identity`, identity.ts `buyerJwtConfig`) and
 * the mesh peer (mTLS, or the sidecar's XFCC with `server.identity`):
 *   buyer routes   a buyer's verified JWT — and, with `callers`, arriving through one of those mesh peers;
 *   admin routes   an operator (`server.auth.operators`), or a JWT with the admin scope (through `callers`);
 *   public         GET /v1/inventory/:sku.
 * The HTLC routes (/v1/htlc/…, atomic swaps between ledgers) are listed in htlc.ts and follow the same rules.
 * No credential or a bad one: 401 naming why; a credential without the right: 403. Handlers take the buyer
 * from the verified identity (`buyerOf`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isoRenderer } from "../../clock/index.js";
import { HttpError, parseInput, type Identity, type RouteAuth } from "../../kit/index.js";
import { parseReservationId, type ParsedReservationId } from "../core/ids.js";
import type { EscrowService } from "../service.js";
import { installHtlcRoutes, type HtlcRouteOptions } from "./htlc.js";
import { buyerOf, type Buyer } from "./identity.js";
import { createBody, idParam, reservationIdOf, reserveQty, skuOf, skuParam } from "./inputs.js";

/** A store call that fails (connection refused, timeout) is a 503 the client may retry, not a 500. */
function store<T>(call: Promise<T>): Promise<T> {
  // A rejection handler, not an async wrapper: the sale path pays one promise for it, not an async function's turns.
  return call.then(undefined, (err: unknown) => {
    if (err instanceof HttpError) throw err;
    throw new HttpError(503, "unavailable", `escrow store: ${(err as Error).message}`, { "retry-after": "1" });
  });
}

function retryAfter(ms: number): Record<string, string> {
  return { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))) };
}

export interface EscrowRouteOptions {
  /** Forward a request to a peer region's escrow (tests inject one; the default uses fetch). */
  forward?: (url: string, init: { method: string; headers: Record<string, string> }) => Promise<{ status: number; body: unknown; headers: Record<string, string> }>;
  /** The HTLC ledger and the clock that judges its timelocks (transport/htlc.ts); no HTLC routes without it. */
  htlc?: HtlcRouteOptions;
}

async function fetchForward(url: string, init: { method: string; headers: Record<string, string> }): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3_000) });
  const text = await res.text();
  const headers: Record<string, string> = {};
  const ra = res.headers.get("retry-after");
  if (ra) headers["retry-after"] = ra;
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers };
}

/** Another buyer's reservation and an id nobody issued get this same answer (nothing tells them apart). */
function notYours(id: string): HttpError {
  return new HttpError(404, "unknown reservation", `no reservation ${id} of yours: ids are answered only to the buyer they were issued to`);
}

/** The owner's reservation from an earlier run of its region's process, whose reservations ended with it. */
function restarted(id: string, region: string): HttpError {
  return new HttpError(
    410,
    "reservation ended with its process",
    `${id} was held by an earlier run of region ${region}'s escrow, which has restarted since: its reservations ended with it and their units were released (unsold: nothing was charged); reserve again`,
  );
}

/** Longest body any escrow route takes (its bodies are a few small numbers). */
const BODY_LIMIT = 16 * 1024;
/** Who may call each kind of escrow route (see above). */
function escrowRouteAuth(config: Pick<EscrowService["config"], "callers" | "identity">): { buyer: RouteAuth; admin: RouteAuth } {
  const viaMesh = (rule: RouteAuth): RouteAuth => (config.callers ? { allOf: [{ spiffe: config.callers }, rule] } : rule);
  return { buyer: viaMesh("bearer"), admin: { anyOf: ["operator", viaMesh({ scope: config.identity.adminScope })] } };
}

/** Install the escrow API on a fastify app (the kit's, in an encapsulated plugin, whose auth hook checks each route's rule). */
export function installEscrowRoutes(app: FastifyInstance, service: EscrowService, opts: EscrowRouteOptions = {}): void {
  const rules = escrowRouteAuth(service.config);
  // Every escrow route takes at most BODY_LIMIT of body.
  const buyerRoute = { bodyLimit: BODY_LIMIT, config: { auth: rules.buyer } };
  const adminRoute = { bodyLimit: BODY_LIMIT, config: { auth: rules.admin } };
  const publicRoute = { bodyLimit: BODY_LIMIT, config: { auth: "public" as const } };
  // Client wrappers often send `Content-Type: application/json` with no body: that is an empty body, not bad JSON.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => (body === "" ? done(null, undefined) : json(req, body as string, done)));
  const forward = opts.forward ?? fetchForward;

  const region = (req: FastifyRequest): string => {
    const raw = req.headers["x-region"];
    const id = Array.isArray(raw) ? raw[0] : raw;
    if (id === undefined || id === "") {
      if (service.regions.length === 1) return service.regions[0]!;
      throw new HttpError(400, "missing X-Region", `name the region in an X-Region header; this process serves ${service.regions.join(", ")}`);
    }
    if (!service.serves(id)) throw new HttpError(421, "misdirected request", `region "${id}" is not served here; this process serves ${service.regions.join(", ")}`);
    return id;
  };
  // The kit verified the token before the handler runs (the route's rule); this reads the buyer off it. The
  // kit hands a cached token's requests the same identity object, so its buyer is read once, not per request.
  const buyers = new WeakMap<Identity, Buyer>();
  const buyer = (req: FastifyRequest): Buyer => {
    const identity = req.identity;
    let who = identity && buyers.get(identity);
    if (who === undefined) {
      who = buyerOf(identity, service.config.identity, service.config.tiers);
      buyers.set(identity!, who);
    }
    return who;
  };
  // Reservations expiring in the same second share its rendering; each route table has its own.
  const expiresAt = isoRenderer(3);

  /**
   * A reservation held by a region this process does not serve goes to the peer serving it, if reachable.
   * Synchronous (false) for a reservation held here: the sale path pays no promise for it.
   */
  const viaPeer = (req: FastifyRequest, reply: FastifyReply, p: ParsedReservationId | null, method: string, path: () => string): false | Promise<boolean> => {
    const peer = p && !service.serves(p.region) ? service.config.peers[p.region] : undefined;
    return p && peer ? forwardTo(req, reply, peer, method, path(), p.region) : false;
  };
  const forwardTo = async (req: FastifyRequest, reply: FastifyReply, peer: string, method: string, path: string, region: string): Promise<boolean> => {
    try {
      const headers: Record<string, string> = { "x-region": region, authorization: req.headers.authorization ?? "" };
      const out = await forward(`${peer.replace(/\/$/, "")}${path}`, { method, headers });
      await reply.status(out.status).headers(out.headers).send(out.body);
      return true;
    } catch {
      return false; // the region is unreachable: answer from the store what can be answered
    }
  };

  app.post("/v1/inventory/:sku", adminRoute, async (req, reply) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    region(req);
    const { total } = parseInput(createBody, req.body, "body");
    const { outcome, allocation } = await store(service.createItem(sku, total));
    if (outcome === "conflict") throw new HttpError(409, "item exists", `${sku} already exists with a different total`);
    return reply.status(outcome === "created" ? 201 : 200).send({ sku, total, allocation });
  });

  const header = (req: FastifyRequest, name: string): string | undefined => {
    const raw = req.headers[name];
    const v = Array.isArray(raw) ? raw[0] : raw;
    return v === undefined || v === "" ? undefined : v;
  };
  const room = (sku: string) => {
    if (service.room) return service.room;
    throw new HttpError(404, "no waiting room", `${sku} has no scheduled opening (opensAt), so it has no waiting room: reserve directly`);
  };

  /** A buyer's place, with the region's low-inventory warnings (nobody should wait long for nothing). */
  const place = async (sku: string, r: string, who: Buyer, token: string | undefined) => {
    const view = await store(room(sku).enter(sku, who.user, who.weight, token));
    const sale = await service.sale(sku, r).catch(() => null);
    return { ...view, warnings: sale?.warnings() ?? [] };
  };

  app.post("/v1/inventory/:sku/queue", buyerRoute, async (req) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    const r = region(req);
    const who = buyer(req);
    return place(sku, r, who, header(req, "x-queue-token"));
  });

  app.get("/v1/inventory/:sku/queue", buyerRoute, async (req) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    const r = region(req);
    const who = buyer(req);
    const token = header(req, "x-queue-token");
    if (!token) throw new HttpError(400, "missing X-Queue-Token", "send the queue token you got when you joined (POST to join)");
    return place(sku, r, who, token);
  });

  app.post("/v1/inventory/:sku/reservations", buyerRoute, async (req, reply) => {
    const sku = skuOf(req.params);
    const r = region(req);
    const who = buyer(req);
    const qty = reserveQty(req.body);
    const admitted = service.room ? await service.room.admit(sku, who.user, header(req, "x-queue-pass")) : false;
    const out = await store(service.reserve(r, sku, who, qty, admitted));
    if (out === null) throw new HttpError(404, "unknown item", `no inventory ${sku}`);
    switch (out.status) {
      case "reserved":
        return reply.status(201).send({ reservationId: out.reservation.id, expiresAt: expiresAt(out.reservation.expiresAtMs), qty: out.reservation.qty, warnings: out.warnings });
      case "sold-out":
        return reply.status(409).send({ error: out.left > 0 ? "insufficient inventory" : "sold out", detail: out.detail, left: out.left });
      case "throttled":
        return reply.status(429).headers(retryAfter(out.retryAfterMs)).send({ error: "try again later", detail: out.detail, retryAfterMs: out.retryAfterMs, queuePosition: out.queuePosition });
      case "unavailable":
        return reply.status(503).headers(retryAfter(out.retryAfterMs)).send({ error: "unavailable", detail: out.detail, retryAfterMs: out.retryAfterMs });
      case "forbidden":
        throw new HttpError(403, "per-user limit", out.detail);
    }
  });

  app.post("/v1/reservations/:id/commit", buyerRoute, async (req, reply) => {
    const id = reservationIdOf(req.params);
    region(req);
    const who = buyer(req);
    const p = parseReservationId(id);
    const forwarded = viaPeer(req, reply, p, "POST", () => `/v1/reservations/${encodeURIComponent(id)}/commit`);
    if (forwarded !== false && (await forwarded)) return reply;
    const out = await store(service.commit(id, who, p));
    const unreachable = p && !service.serves(p.region) && service.config.peers[p.region] !== undefined;
    switch (out.status) {
      case "sold":
        return reply.status(200).send({ reservationId: id, sku: out.sku, qty: out.qty, status: "sold", duplicate: out.duplicate });
      case "foreign":
      case "unknown":
        if (unreachable) throw new HttpError(503, "unavailable", `region ${p.region}, which holds ${id}, is unreachable; retry`, { "retry-after": "1" });
        throw notYours(id);
      case "restarted":
        throw restarted(id, p!.region);
      case "expired":
        throw new HttpError(410, "reservation expired", `${id} expired before it was committed; its units were released`);
      case "cancelled":
        throw new HttpError(410, "reservation cancelled", `${id} was cancelled; its units were released`);
      case "void":
      case "lease-lost":
        throw new HttpError(409, "reservation void", `${id} was held by a region whose stock was reclaimed or rebuilt; reserve again`);
      case "in-progress":
        throw new HttpError(409, "commit in progress", `${id} is being committed by another request`);
      case "over-cap":
        throw new HttpError(403, "per-user limit", `buying ${id} would exceed the per-user limit of ${service.config.admission.perUserLimit}`);
      case "unavailable":
        return reply.status(503).headers(retryAfter(out.retryAfterMs)).send({ error: "unavailable", detail: out.detail, retryAfterMs: out.retryAfterMs });
    }
  });

  app.get("/v1/reservations/:id", buyerRoute, async (req, reply) => {
    const { id } = parseInput(idParam, req.params, "path");
    region(req);
    const who = buyer(req);
    const p = parseReservationId(id);
    const forwarded = viaPeer(req, reply, p, "GET", () => `/v1/reservations/${encodeURIComponent(id)}`);
    if (forwarded !== false && (await forwarded)) return reply;
    const out = await store(service.status(id, who, p));
    if (out.status === "unknown" || out.status === "foreign") {
      if (p && !service.serves(p.region) && service.config.peers[p.region] !== undefined) {
        throw new HttpError(503, "unavailable", `region ${p.region}, which holds ${id}, is unreachable; retry`, { "retry-after": "1" });
      }
      throw notYours(id);
    }
    const expires = out.status === "reserved" ? { expiresAt: expiresAt(out.expiresAtMs) } : {};
    return reply.status(200).send({ reservationId: id, sku: out.sku, status: out.status, ...("qty" in out ? { qty: out.qty } : {}), ...expires });
  });

  app.delete("/v1/reservations/:id", buyerRoute, async (req, reply) => {
    const { id } = parseInput(idParam, req.params, "path");
    region(req);
    const who = buyer(req);
    const p = parseReservationId(id);
    const forwarded = viaPeer(req, reply, p, "DELETE", () => `/v1/reservations/${encodeURIComponent(id)}`);
    if (forwarded !== false && (await forwarded)) return reply;
    const out = await store(service.cancel(id, who));
    if (out === "unknown" || out === "foreign") throw notYours(id);
    if (out === "restarted") throw restarted(id, p!.region);
    if (out === "void") throw new HttpError(409, "reservation void", `${id} was held by a region whose stock was reclaimed or rebuilt; nothing to cancel`);
    if (out === "expired") throw new HttpError(410, "reservation expired", `${id} expired; its units were released`);
    if (out === "in-progress") throw new HttpError(409, "commit in progress", `${id} is being committed; ask again for its answer`);
    if (out === "over-cap") throw new HttpError(403, "per-user limit", `${id} was refused at commit for the per-user limit; its units were released`);
    if (out === "sold") throw new HttpError(409, "already sold", `${id} was committed; ask for a refund instead`);
    return reply.status(204).send();
  });

  app.post("/v1/sales/:id/refund", adminRoute, async (req, reply) => {
    const { id } = parseInput(idParam, req.params, "path");
    const p = parseReservationId(id);
    if (!p) throw new HttpError(404, "unknown sale", `no sale ${id}`);
    const out = await store(service.refund(p.sku, id));
    if (out === "unknown") throw new HttpError(404, "unknown sale", `no sale ${id}`);
    return reply.status(200).send({ saleId: id, sku: p.sku, status: out });
  });

  app.get("/v1/inventory/:sku", publicRoute, async (req) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    region(req);
    const view = await store(service.inventory(sku));
    if (!view) throw new HttpError(404, "unknown item", `no inventory ${sku}`);
    return view;
  });

  if (opts.htlc) installHtlcRoutes(app, opts.htlc, { ...rules, adminScope: service.config.identity.adminScope });

  app.get("/v1/inventory/:sku/reconciliation", adminRoute, async (req) => {
    const { sku } = parseInput(skuParam, req.params, "path");
    region(req);
    const rep = service.reconciliations.get(sku);
    if (!rep) throw new HttpError(404, "no reconciliation", `no reconciliation cycle of ${sku} has run in this process yet`);
    return { ...rep, verification: service.verifications.get(sku) ?? null, rebuilds: service.rebuilds.filter((r) => r.sku === sku) };
  });
}
