/**
 * A region's front door in the local estate, defined with the service kit: one HTTP listener on the
 * region process's private address (the proxy on the public address forwards here) that routes by path to
 * the region's services — `/escrow/*`, `/clock/*`, `/ratelimit/*` — as a regional ingress would, and
 * applies the region's share of the estate-wide rate limit to escrow traffic, as Envoy does with RLS.
 *
 * It also carries what the GSLB and the supervisor need: one health path per service signal
 * (`/healthz/<service>`: 200 while it is up, 503 when failing or forced failing), `/state` for the
 * dashboard, and operator-only controls (`/admin/skew`, `/admin/signal`, `/admin/ratelimit`).
 */
import httpProxy from "@fastify/http-proxy";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { defineService, HttpError, parseInput } from "../kit/index.js";

/** One service of the region as the gateway sees it. */
export interface RegionUpstream {
  name: string;
  /** Base URL the gateway forwards `/<name>/*` to. */
  url: string;
  /** The service's own health: true, or why not. */
  healthy(): true | string | Promise<true | string>;
  state(): unknown;
}

export interface GatewayControls {
  region: string;
  cloud: string;
  upstreams: RegionUpstream[];
  clockState(): { nowMs: number; skewMs: number };
  setSkew(skewMs: number): void;
  setRateLimitShare(requestsPerSecond: number): Promise<void>;
  /** Admit one escrow request under the region's rate-limit share (false: answer 429). */
  admit(): Promise<{ allowed: boolean; retryAfterMs: number }>;
  stats(): Record<string, number>;
}

const skewBody = z.object({ skewMs: z.number().finite().min(-3_600_000).max(3_600_000) }).strict();
const signalBody = z.object({ service: z.string().min(1).max(64), failing: z.boolean() }).strict();
const stateQuery = z.object({ services: z.string().max(256).optional() });
const shareBody = z.object({ requestsPerSecond: z.number().int().min(0).max(1e9) }).strict();

export function regionGatewayService(c: GatewayControls) {
  return defineService({
    name: "region",
    config: z.object({}).strict(),
    start: () => {
      const forced = new Set<string>();
      let sales = 0;
      const signals = async () => {
        const out: Record<string, { up: boolean; reason?: string }> = {};
        for (const u of c.upstreams) {
          const own = await Promise.resolve(u.healthy()).catch((e: Error) => e.message);
          out[u.name] = forced.has(u.name) ? { up: false, reason: "forced failing (drill)" } : own === true ? { up: true } : { up: false, reason: own };
        }
        return out;
      };
      const names = () => c.upstreams.map((u) => u.name).join(", ");
      return {
        ready: { services: async () => (Object.values(await signals()).some((s) => s.up) ? true : "every service signal is failing") },
        async routes(app: FastifyInstance) {
          const pub = { config: { auth: "public" as const } };
          const op = { config: { auth: "operator" as const } };
          // Acknowledged sales through this region: commits answered 200.
          app.addHook("onResponse", async (req, reply) => {
            if (req.method === "POST" && reply.statusCode === 200 && /^\/escrow\/v1\/reservations\/[^/]+\/commit$/.test(req.url)) sales += 1;
          });
          app.get("/healthz/:service", pub, async (req: FastifyRequest, reply: FastifyReply) => {
            const { service } = parseInput(z.object({ service: z.string().max(64) }), req.params, "path");
            const s = (await signals())[service];
            if (!s) throw new HttpError(404, "unknown service", `${service}; this region runs ${names()}`);
            return reply.status(s.up ? 200 : 503).send({ region: c.region, service, ok: s.up, ...(s.reason ? { reason: s.reason } : {}) });
          });
          // `?services=clock,…`: only those services' state (the dashboard's history needs the clock's, not escrow's stock).
          app.get("/state", pub, async (req: FastifyRequest) => {
            const { services: only } = parseInput(stateQuery, req.query, "query");
            const wanted = only === undefined ? c.upstreams : c.upstreams.filter((u) => only.split(",").includes(u.name));
            return {
              region: c.region,
              cloud: c.cloud,
              clock: c.clockState(),
              signals: Object.fromEntries(Object.entries(await signals()).map(([k, v]) => [k, v.up])),
              services: Object.fromEntries(await Promise.all(wanted.map(async (u) => [u.name, await Promise.resolve(u.state()).catch((e: Error) => ({ error: e.message }))]))),
              stats: { ...c.stats(), sales },
            };
          });
          app.post("/admin/skew", op, async (req) => {
            const { skewMs } = parseInput(skewBody, req.body, "body");
            c.setSkew(skewMs);
            return { region: c.region, skewMs };
          });
          app.post("/admin/signal", op, async (req) => {
            const body = parseInput(signalBody, req.body, "body");
            if (!c.upstreams.some((u) => u.name === body.service)) throw new HttpError(404, "unknown service", `${body.service}; this region runs ${names()}`);
            if (body.failing) forced.add(body.service);
            else forced.delete(body.service);
            return { region: c.region, signals: await signals() };
          });
          app.post("/admin/ratelimit", op, async (req) => {
            const { requestsPerSecond } = parseInput(shareBody, req.body, "body");
            await c.setRateLimitShare(requestsPerSecond);
            return { region: c.region, requestsPerSecond };
          });
          for (const u of c.upstreams) {
            await app.register(httpProxy, {
              upstream: u.url,
              prefix: `/${u.name}`,
              // Each service checks its own callers; the gateway only routes (and rate-limits escrow).
              config: { auth: "public" },
              preHandler:
                u.name === "escrow"
                  ? async (_req: FastifyRequest, reply: FastifyReply) => {
                      const d = await c.admit();
                      if (!d.allowed) {
                        const after = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
                        return reply
                          .status(429)
                          .header("retry-after", String(after))
                          .send({ error: "rate limited", detail: `region ${c.region}'s share of the estate-wide limit is used up` });
                      }
                    }
                  : undefined,
              // A regional ingress knows its region: a client cannot claim another one.
              replyOptions: { rewriteRequestHeaders: (_req, headers: IncomingHttpHeaders) => (u.name === "escrow" ? { ...headers, "x-region": c.region } : headers) },
            });
          }
        },
      };
    },
  });
}
