/**
 * Child processes for bench/lib/escrow-http.ts, so each server runs in its own process (one event loop,
 * like `meridian escrow serve`):
 *   bare                  node:http doing no work: a reservation answers 201 {"reservationId":"x"}, anything else 200
 *                         (the transport ceiling)
 *   decrby <setup.json>   the plain alternative (minimal fastify): the same buyer tokens verified the same way, then
 *                         POST /v1/inventory/:sku/reservations → one Redis DECRBY (INCRBY back and 409 when
 *                         it goes negative), answering a random id; POST /v1/reservations/:id/commit → one
 *                         PostgreSQL INSERT (autocommit, so durable before the answer)
 *   kit <setup.json>      the service kit (runtime/kit) answering the same two routes with no work: the escrow's buyer-JWT
 *                         rule and token cache, HLC and consistency-token headers, RED metrics, limits and timeouts —
 *                         what any kit service pays per request before its own work
 * Servers print one line {"url"} when listening and stop on SIGTERM.
 */
import Fastify from "fastify";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import pg from "pg";
import { z } from "zod";
import { ClockNode, hlcParts, TimeMetrics } from "../../runtime/clock/index.js";
import { defineService, startService } from "../../runtime/kit/index.js";
import { BuyerVerifier, buyerJwtConfig } from "../../runtime/escrow/transport/identity.js";
import { TokenSource } from "../../runtime/escrow/core/ids.js";
import type { IdentityConfig } from "../../runtime/escrow/config.js";

export interface PeerSetup {
  redisUrl: string;
  postgresUrl: string;
  /** Redis key holding the units left, and the table sales go to (schema.table). */
  key: string;
  table: string;
  identity: IdentityConfig;
}

const [mode, file] = process.argv.slice(2) as [string, string];
if (mode === "bare") {
  const body = JSON.stringify({ reservationId: "x" });
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(req.url!.endsWith("/reservations") ? 201 : 200, { "content-type": "application/json", "content-length": body.length }).end(body));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    const a = server.address() as { port: number };
    console.log(JSON.stringify({ url: `http://127.0.0.1:${a.port}` }));
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
} else if (mode === "decrby") {
  const s = JSON.parse(readFileSync(file, "utf8")) as PeerSetup;
  const redis = new Redis(s.redisUrl);
  // A plain service's pool: 16 connections, so up to 16 INSERTs commit together.
  const db = new pg.Pool({ connectionString: s.postgresUrl, max: 16 });
  const verifier = new BuyerVerifier(s.identity, { standard: 1 });
  const app = Fastify({ logger: false });
  app.post("/v1/inventory/:sku/reservations", async (req, reply) => {
    await verifier.verify(req.headers.authorization);
    const left = await redis.decrby(s.key, 1);
    if (left < 0) {
      await redis.incrby(s.key, 1);
      return reply.status(409).send({ error: "sold out" });
    }
    return reply.status(201).send({ reservationId: randomBytes(12).toString("base64url") });
  });
  app.post<{ Params: { id: string } }>("/v1/reservations/:id/commit", async (req) => {
    const buyer = await verifier.verify(req.headers.authorization);
    await db.query(`INSERT INTO ${s.table} (id, user_id, qty) VALUES ($1, $2, 1)`, [req.params.id, buyer.user]);
    return { reservationId: req.params.id, status: "sold" };
  });
  console.log(JSON.stringify({ url: await app.listen({ port: 0, host: "127.0.0.1" }) }));
  process.on(
    "SIGTERM",
    () =>
      void app
        .close()
        .then(() => Promise.all([redis.quit(), db.end()]))
        .then(() => process.exit(0)),
  );
} else if (mode === "kit") {
  const s = JSON.parse(readFileSync(file, "utf8")) as PeerSetup;
  const ids = new TokenSource();
  const noop = defineService({
    name: "kitnoop",
    config: z.object({}),
    jwt: () => buyerJwtConfig(s.identity),
    start: ({ clock, metrics }) => ({
      routes(app) {
        const bearer = { config: { auth: "bearer" as const } };
        // Ids as the escrow draws its tokens (a pooled random buffer): randomBytes per reservation cost this row ~10% more
        // instructions per sale than the kit's own work (callgrind), which the escrow does not pay.
        app.post("/v1/inventory/:sku/reservations", bearer, async (_req, reply) => reply.status(201).send({ reservationId: ids.next() }));
        app.post<{ Params: { id: string } }>("/v1/reservations/:id/commit", bearer, async (req) => ({ reservationId: req.params.id, status: "sold" }));
      },
      ...hlcParts(new ClockNode({ clock, maxOffsetMs: 250, metrics: new TimeMetrics(metrics) })),
    }),
  });
  const running = await startService(noop, { server: { port: 0 } });
  console.log(JSON.stringify({ url: running.url }));
  process.on("SIGTERM", () => void running.close().then(() => process.exit(0)));
} else {
  console.error("usage: escrow-http-child bare | decrby <setup.json> | kit <setup.json>");
  process.exit(2);
}
