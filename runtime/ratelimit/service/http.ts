/**
 * The HTTP face of the service (fastify): `POST /v1/ratelimit` takes the RLS request as JSON and
 * answers 200 (OK) or 429 (OVER_LIMIT) with the IETF `RateLimit-Policy` / `RateLimit` header fields
 * (draft-ietf-httpapi-ratelimit-headers: one item per limit that decided, `q` quota, `w` window in
 * seconds, `r` remaining, `t` seconds to reset) and `Retry-After` on 429. `GET /v1/ratelimit/domains`
 * lists the configured domains; `GET /v1/ratelimit/status` reports the store (and, behind the
 * resilient store, what an outage has admitted without it and the overage bound that allows); `GET /healthz` answers when the service is up.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../../common/http.js";
import { UNIT_MS } from "../config/schema.js";
import { BadRequestError, type RateLimitService, type RlsResponse } from "./rls.js";

const entry = z.object({ key: z.string().min(1), value: z.string().min(1) }).strict();
const body = z
  .object({
    domain: z.string().min(1),
    descriptors: z
      .array(
        z
          .object({
            entries: z.array(entry).min(1),
            limit: z.object({ requests_per_unit: z.number().int().positive(), unit: z.enum(["second", "minute", "hour", "day"]) }).strict().optional(),
          })
          .strict(),
      )
      .min(1),
    hits_addend: z.number().int().nonnegative().optional(),
  })
  .strict();

/** Structured-field string: quote and escape. */
const sfString = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[^\x20-\x7e]/g, "?")}"`;

export function rateLimitHeaders(r: RlsResponse): Record<string, string> {
  const policy: string[] = [];
  const state: string[] = [];
  const seen = new Set<string>();
  for (const s of r.statuses)
    for (const l of s.levels) {
      if (seen.has(l.key)) continue;
      seen.add(l.key);
      const name = sfString(l.limit.name ?? l.key);
      const w = Math.round(l.limit.limit.periodMs / 1000);
      policy.push(`${name};q=${l.limit.limit.limit};w=${w}`);
      state.push(`${name};r=${Math.max(0, Math.floor(l.decision.remaining))};t=${Math.ceil(Math.max(0, l.decision.resetAfterMs) / 1000)}`);
    }
  const h: Record<string, string> = {};
  if (policy.length) {
    h["ratelimit-policy"] = policy.join(", ");
    h["ratelimit"] = state.join(", ");
  }
  if (r.overallCode === "OVER_LIMIT") h["retry-after"] = String(Number.isFinite(r.retryAfterMs) ? Math.ceil(r.retryAfterMs / 1000) : Math.round(UNIT_MS.day / 1000));
  return h;
}

export function buildHttp(service: RateLimitService, status: () => unknown = () => ({ store: "memory" })): FastifyInstance {
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  app.get("/healthz", () => ({ ok: true }));
  app.get("/v1/ratelimit/domains", () => ({ domains: service.domainNames }));
  app.get("/v1/ratelimit/status", () => status());
  app.post("/v1/ratelimit", async (req, reply) => {
    const b = parseInput(body, req.body, "body");
    let r: RlsResponse;
    try {
      r = await service.shouldRateLimit({
        domain: b.domain,
        hitsAddend: b.hits_addend,
        descriptors: b.descriptors.map((d) => ({ entries: d.entries, limit: d.limit && { requestsPerUnit: d.limit.requests_per_unit, unit: d.limit.unit } })),
      });
    } catch (err) {
      if (err instanceof BadRequestError) throw new HttpError(400, "invalid body", err.message);
      throw new HttpError(503, "store unavailable", (err as Error).message);
    }
    void reply.status(r.overallCode === "OK" ? 200 : 429).headers(rateLimitHeaders(r));
    return {
      overall_code: r.overallCode,
      statuses: r.statuses.map((s) => ({
        code: s.code,
        current_limit: s.currentLimit && { name: s.currentLimit.name, requests_per_unit: s.currentLimit.requestsPerUnit, unit: s.currentLimit.unit },
        limit_remaining: s.limitRemaining,
        duration_until_reset_ms: s.durationUntilResetMs,
      })),
    };
  });
  return app;
}
