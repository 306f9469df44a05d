/**
 * The HTTP face of the service: `POST /v1/ratelimit` takes the RLS request as JSON and answers 200 (OK)
 * or 429 (OVER_LIMIT) with the IETF `RateLimit-Policy` / `RateLimit` fields and `Retry-After`;
 * `GET /v1/ratelimit/domains` lists the configured domains; `GET /v1/ratelimit/status` reports the store
 * (and what an outage admitted without it). An unreachable store answers 503 `{error, detail}`. The kit
 * serves these routes (`installRlsRoutes`); `buildHttp` is a bare fastify app for in-process tests.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { lazySchemaCompilers } from "../../common/fastify-schemas.js";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../../common/http.js";
import type { RouteAuth } from "../../kit/index.js";
import { UNITS } from "../config/schema.js";
import { rateLimitHeaders } from "./headers.js";
import type { RateLimitService } from "./rls.js";
import { BadRequestError, type RlsResponse } from "./types.js";

const entry = z.object({ key: z.string().min(1), value: z.string() }).strict();
const body = z
  .object({
    domain: z.string().min(1),
    descriptors: z
      .array(
        z
          .object({
            entries: z.array(entry).min(1),
            limit: z
              .object({ requests_per_unit: z.number().int().nonnegative(), unit: z.enum(UNITS as [string, ...string[]]) })
              .strict()
              .optional(),
            hits_addend: z.number().int().nonnegative().optional(),
          })
          .strict(),
      )
      .min(1),
    hits_addend: z.number().int().nonnegative().optional(),
  })
  .strict();

function responseBody(r: RlsResponse): Record<string, unknown> {
  return {
    overall_code: r.overallCode,
    statuses: r.statuses.map((s) => ({
      code: s.code,
      current_limit: s.currentLimit && { name: s.currentLimit.name, requests_per_unit: s.currentLimit.requestsPerUnit, unit: s.currentLimit.unit },
      limit_remaining: s.limitRemaining,
      duration_until_reset_ms: s.durationUntilResetMs,
    })),
    ...(r.dynamicMetadata ? { dynamic_metadata: r.dynamicMetadata } : {}),
  };
}

export function installRlsRoutes(app: FastifyInstance, service: RateLimitService, status: () => unknown, callers: RouteAuth = "public"): void {
  const pub = { config: { auth: "public" as const } };
  app.get("/v1/ratelimit/domains", pub, () => ({ domains: service.domainNames }));
  app.get("/v1/ratelimit/status", pub, () => status());
  app.post("/v1/ratelimit", { config: { auth: callers } }, async (req, reply) => {
    const b = parseInput(body, req.body, "body");
    let r: RlsResponse;
    try {
      const decided = service.decide({
        domain: b.domain,
        hitsAddend: b.hits_addend,
        descriptors: b.descriptors.map((d) => ({
          entries: d.entries,
          hitsAddend: d.hits_addend,
          limit: d.limit && { requestsPerUnit: d.limit.requests_per_unit, unit: d.limit.unit as (typeof UNITS)[number] },
        })),
      });
      r = decided instanceof Promise ? await decided : decided;
    } catch (err) {
      if (err instanceof BadRequestError) throw new HttpError(400, "invalid body", err.message);
      throw new HttpError(503, "store unavailable", (err as Error).message);
    }
    void reply.status(r.overallCode === "OK" ? 200 : 429).headers(rateLimitHeaders(r));
    return responseBody(r);
  });
}

export function buildHttp(service: RateLimitService, status: () => unknown = () => ({ store: "memory" })): FastifyInstance {
  // 1 MiB bodies: far above the descriptor cap's worth of JSON, far below what could stall the loop.
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, schemaController: lazySchemaCompilers });
  installErrorHandler(app);
  app.get("/healthz", () => ({ ok: true }));
  installRlsRoutes(app, service, status);
  return app;
}
