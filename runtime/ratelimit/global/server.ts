/**
 * The global allocator as a process: resources from YAML, GetCapacity over NATS request/reply
 * (`<subject>.getcapacity`) and over HTTP (`POST /v1/allocator/capacity`), and a status page per
 * resource (`GET /v1/allocator/resources/:id`: every client's wants, has and lease expiry).
 */
import Fastify, { type FastifyInstance } from "fastify";
import { parse } from "yaml";
import { z } from "zod";
import type { Clock } from "../../common/clock.js";
import { HttpError, installErrorHandler, parseInput } from "../../common/http.js";
import { GlobalAllocator, type ResourceConfig } from "./allocator.js";

const resource = z
  .object({
    id: z.string().min(1),
    capacity: z.number().nonnegative(),
    algorithm: z.enum(["static", "proportional", "fair"]).default("fair"),
    lease_ms: z.number().int().positive().default(10_000),
    refresh_ms: z.number().int().positive().default(1_000),
    static_per_client: z.number().nonnegative().optional(),
    safe_capacity: z.number().nonnegative().optional(),
  })
  .strict()
  .refine((r) => r.refresh_ms < r.lease_ms, { message: "refresh_ms must be below lease_ms (a lease must be renewed before it runs out)" });
const file = z.object({ resources: z.array(resource).min(1) }).strict();

class AllocatorConfigError extends Error {
  override name = "AllocatorConfigError";
}

export function parseAllocatorConfig(text: string, name = "<allocator config>"): ResourceConfig[] {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new AllocatorConfigError(`${name}: ${(err as Error).message}`);
  }
  const r = file.safeParse(value);
  if (!r.success) throw new AllocatorConfigError(r.error.issues.map((i) => `${name}: ${i.path.join(".") || "(document)"}: ${i.message}`).join("\n"));
  const ids = r.data.resources.map((x) => x.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new AllocatorConfigError(`${name}: resource "${dup}" is defined more than once`);
  return r.data.resources.map((x) => ({
    id: x.id,
    capacity: x.capacity,
    algorithm: x.algorithm,
    leaseMs: x.lease_ms,
    refreshMs: x.refresh_ms,
    ...(x.static_per_client !== undefined ? { staticPerClient: x.static_per_client } : {}),
    ...(x.safe_capacity !== undefined ? { safeCapacity: x.safe_capacity } : {}),
  }));
}

export function buildAllocatorHttp(allocator: GlobalAllocator, clock: Clock): FastifyInstance {
  const app = Fastify({ logger: false });
  installErrorHandler(app);
  const body = z.object({ resource: z.string().min(1), client: z.string().min(1), wants: z.number().nonnegative().finite() }).strict();
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof RangeError) throw new HttpError(/unknown resource/.test(err.message) ? 404 : 400, "invalid request", err.message);
      throw err;
    }
  };
  app.post("/v1/allocator/capacity", (req) => {
    const b = parseInput(body, req.body, "body");
    return wrap(() => allocator.getCapacity(b.resource, b.client, b.wants, clock.now()));
  });
  app.get("/v1/allocator/resources/:id", (req) => {
    const id = (req.params as { id: string }).id;
    return wrap(() => ({ resource: allocator.config(id), clients: allocator.snapshot(id, clock.now()) }));
  });
  return app;
}
