/**
 * The global allocator as a service on the kit (`meridian ratelimit allocator`): its resources from the
 * config file, its leases in the `store` the file names (lease-store.ts: `memory`, one replica; `redis`,
 * replicas sharing leases through Redis), GetCapacity over HTTP (`POST /v1/allocator/capacity`) and, with `nats`, over NATS
 * request/reply (`<subject>.getcapacity.<client>`, nats.ts), and a status page per resource
 * (`GET /v1/allocator/resources/:id`: every client's wants, has and lease expiry). With `callers`, a request's
 * `client` is bound to its verified caller (boundClient); over NATS it is the subject's, which the NATS server's
 * permissions bind to the limiter's nkey (`natsNkeySeedFile`; docs/ratelimit.md). The kit owns the
 * listener, limits, health, metrics, identity and drain; NATS is a store it probes before start
 * (unreachable: one line, exit 1) and on every /readyz, beside this process's own connection state.
 * Redis likewise; while it does not answer, GetCapacity is a 503 naming it (an {error} over NATS).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { parse } from "yaml";
import { z } from "zod";
import { ClockNode, hlcRequireEpochFromEnv, httpHlc, TimeMetrics } from "../../clock/index.js";
import type { Clock } from "../../common/clock.js";
import { defineService, HttpError, parseInput, type ReadinessCheck, type RouteAuth } from "../../kit/index.js";
import { clusterOptions, clusterProbe, followCredentials, hostPortOf, hostPortSchema, redisAuthSchema, redisTlsSchema, type ClusterAccess } from "../store/cluster-access.js";
import type { ResourceConfig } from "./allocator.js";
import { budgetRequestSchema, memoryBudgetStore, redisBudgetStore, type BudgetStore } from "./budget-store.js";
import { memoryLeaseStore, redisLeaseStore, StoreDown, type LeaseStore } from "./lease-store.js";
import { natsSubjectSchema, natsUrlSchema } from "./nats-config.js";

const resource = z
  .object({
    id: z.string().min(1).max(128),
    capacity: z.number().nonnegative(),
    algorithm: z.enum(["static", "proportional", "fair"]).default("fair"),
    lease_ms: z.number().int().positive().default(10_000),
    refresh_ms: z.number().int().positive().default(1_000),
    static_per_client: z.number().nonnegative().optional(),
    safe_capacity: z.number().nonnegative().optional(),
    /** Predictive shares: each client's wants forecast from its last `history` asks (allocator.ts). */
    forecast: z
      .object({
        history: z.number().int().min(3).max(1_000).default(30),
        /** A demand cycle's length, in refreshes; learnt once the history holds two cycles. */
        season_length: z.number().int().min(2).max(100_000).default(60),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((r) => r.refresh_ms < r.lease_ms, { message: "refresh_ms must be below lease_ms (a lease must be renewed before it runs out)" });
const uniqueIds = (rs: readonly { id: string }[], ctx: z.RefinementCtx) => {
  const ids = rs.map((x) => x.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) ctx.addIssue({ code: "custom", message: `resource "${dup}" is defined more than once` });
};
const resources = z.array(resource).min(1).superRefine(uniqueIds);

/** The allocator's keys of its config file (the kit's are under `server`). */
const allocatorConfigSchema = z
  .object({
    /** Doorman resources (rate leases); none when the allocator only grants per-window budgets. */
    resources: z.array(resource).superRefine(uniqueIds).default([]),
    /** Where leases live: `memory` (this process; default without `redis`) or `redis` (shared by every replica on it). */
    store: z.enum(["memory", "redis"]).optional(),
    /** The Redis of `store: redis` (redis://host:port/db or rediss://). */
    redis: z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, "expected redis://host:port[/db] or rediss://…")
      .optional(),
    /** Or a Redis Cluster's nodes (host:port), for `store: redis` on a Cluster. */
    redisCluster: z.array(hostPortSchema).min(1).optional(),
    /** TLS towards the Redis Cluster (a CA bundle file, the certificates' name); a single Redis takes rediss:// instead. */
    redisTls: redisTlsSchema.optional(),
    /** The Redis Cluster's ACL user or AUTH token, from files (a mounted Secret): never in this file or on the command line. */
    redisAuth: redisAuthSchema.optional(),
    /** Key prefix of the leases in Redis: replicas that share leases use the same one. */
    redisPrefix: z.string().min(1).max(64).default("mrl:alloc:"),
    /** Also answer GetCapacity on NATS request/reply (nats://host:port). */
    nats: natsUrlSchema.optional(),
    /** NATS subject prefix: requests on `<subject>.getcapacity.<client>` (nats.ts). */
    subject: natsSubjectSchema,
    /**
     * The allocator's own NATS user: a file holding its nkey seed (a mounted Secret). On a server with natsAuthorization's
     * permissions each limiter publishes only on its own client's subject, and the allocator takes the client from the
     * subject; without it the allocator connects anonymously (docs/ratelimit.md).
     */
    natsNkeySeedFile: z.string().min(1).optional(),
    /**
     * SPIFFE IDs allowed to ask for capacity and read the status pages over HTTP (the regional limiters),
     * from `server.tls` (mTLS) or `server.identity` (the sidecar's XFCC); each speaks only for its own clients
     * (boundClient). Default: anyone, as before the kit. Over NATS the subject names the client (nats.ts).
     */
    callers: z.array(z.string().startsWith("spiffe://")).min(1).optional(),
    /** HLC propagation with this max offset: x-meridian-hlc on HTTP, the HLC and its epoch on NATS (older epochs refused). */
    maxOffsetMs: z.number().positive().max(60_000).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const where = c.redis ?? c.redisCluster?.join(",");
    if (c.redis && c.redisCluster) ctx.addIssue({ code: "custom", path: ["redisCluster"], message: "redis and redisCluster are exclusive; give one" });
    if (c.store === "redis" && !where)
      ctx.addIssue({ code: "custom", path: ["redis"], message: "store: redis needs the Redis URL (redis: redis://host:port/db, or --redis) or redisCluster: [host:port, …]" });
    if ((c.redisTls || c.redisAuth) && !c.redisCluster)
      ctx.addIssue({
        code: "custom",
        path: [c.redisTls ? "redisTls" : "redisAuth"],
        message: "redisTls and redisAuth are for redisCluster; a single Redis takes them in its URL (rediss://user:password@host)",
      });
    if (c.natsNkeySeedFile && !c.nats) ctx.addIssue({ code: "custom", path: ["natsNkeySeedFile"], message: "the allocator's NATS credentials need nats (nats://host:port, or --nats)" });
    if (c.store === "memory" && where) ctx.addIssue({ code: "custom", path: ["store"], message: `store is memory but Redis is set (${where}): set store: redis, or drop it` });
  })
  .transform((c) => ({ ...c, store: c.store ?? (c.redis || c.redisCluster ? ("redis" as const) : ("memory" as const)) }));

class AllocatorConfigError extends Error {
  override name = "AllocatorConfigError";
}

function resourceConfigs(rs: z.output<typeof resources>): ResourceConfig[] {
  return rs.map((x) => ({
    id: x.id,
    capacity: x.capacity,
    algorithm: x.algorithm,
    leaseMs: x.lease_ms,
    refreshMs: x.refresh_ms,
    ...(x.static_per_client !== undefined ? { staticPerClient: x.static_per_client } : {}),
    ...(x.safe_capacity !== undefined ? { safeCapacity: x.safe_capacity } : {}),
    ...(x.forecast ? { forecast: { history: x.forecast.history, seasonLength: x.forecast.season_length } } : {}),
  }));
}

/** The resources of an allocator YAML document (`resources: [...]`), for embedding without the service. */
export function parseAllocatorConfig(text: string, name = "<allocator config>"): ResourceConfig[] {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new AllocatorConfigError(`${name}: ${(err as Error).message}`);
  }
  const r = z.object({ resources }).strict().safeParse(value);
  if (!r.success) throw new AllocatorConfigError(r.error.issues.map((i) => `${name}: ${i.path.join(".") || "(document)"}: ${i.message}`).join("\n"));
  return resourceConfigs(r.data.resources);
}

const access = (c: { redisCluster?: string[] | undefined; redisTls?: ClusterAccess["tls"]; redisAuth?: ClusterAccess["auth"] }): ClusterAccess => ({
  nodes: c.redisCluster ?? [],
  tls: c.redisTls,
  auth: c.redisAuth,
});

const redactedUrl = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");

/**
 * The client a request speaks for. With `callers`, the route verified the caller's SPIFFE ID (mTLS or the sidecar's
 * XFCC), and the body's `client` names one of that caller's own clients — `<SPIFFE ID>#<client>` — so a caller can
 * neither claim, read nor release another caller's lease or budget (a SPIFFE ID holds no `#`, so no two callers'
 * names meet). Without `callers` nothing is verified and the body's client is taken as said.
 */
function boundClient(req: FastifyRequest, client: string): string {
  return req.identity?.kind === "spiffe" ? `${req.identity.id.uri}#${client}` : client;
}

const capacityBody = z.object({ resource: z.string().min(1).max(128), client: z.string().min(1).max(256), wants: z.number().nonnegative().finite() }).strict();
const idParam = z.object({ id: z.string().min(1).max(128) });

/** The allocator's HTTP routes; `auth` is who may call them (the kit checks it before the handler). */
function installAllocatorRoutes(app: FastifyInstance, store: LeaseStore, budgets: BudgetStore, clock: Clock, auth: RouteAuth): void {
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof RangeError) throw new HttpError(/unknown resource/.test(err.message) ? 404 : 400, "invalid request", err.message);
      // No lease without the store: the caller keeps its current one until it expires, then its safe capacity.
      if (err instanceof StoreDown) throw new HttpError(503, "store unavailable", err.message, { "retry-after": "1" });
      throw err;
    }
  };
  // Its bodies are three small fields.
  app.post("/v1/allocator/capacity", { config: { auth }, bodyLimit: 4096 }, async (req) => {
    const b = parseInput(capacityBody, req.body, "body");
    return wrap(() => store.getCapacity(b.resource, boundClient(req, b.client), b.wants, clock.now()));
  });
  // Per-window budgets for the rate limit service's `global: true` limits (budget-store.ts); the limit names its own size.
  app.post("/v1/allocator/budget", { config: { auth }, bodyLimit: 4096 }, async (req) => {
    const b = parseInput(budgetRequestSchema, req.body, "body");
    return wrap(() => budgets.acquire({ ...b, client: boundClient(req, b.client) }, clock.now()));
  });
  app.get("/v1/allocator/resources/:id", { config: { auth } }, async (req) => {
    const { id } = parseInput(idParam, req.params, "path");
    return wrap(async () => ({ resource: store.config(id), clients: await store.snapshot(id, clock.now()) }));
  });
}

/** `meridian ratelimit allocator` on the service kit. */
export const allocatorService = defineService({
  name: "ratelimit-allocator",
  config: allocatorConfigSchema,
  stores: (c) => ({
    redis: c.store !== "redis" ? undefined : c.redisCluster ? clusterProbe(access(c)) : c.redis ? { kind: "redis", url: c.redis } : undefined,
    nats: c.nats ? { kind: "nats", url: c.nats } : undefined,
  }),
  async start({ config: c, clock, server, log, metrics }) {
    const configs = resourceConfigs(c.resources);
    const ready: Record<string, ReadinessCheck> = {};
    let store: LeaseStore;
    let budgets: BudgetStore = memoryBudgetStore();
    let redis: import("ioredis").Redis | import("ioredis").Cluster | undefined;
    if (c.store === "redis" && (c.redis || c.redisCluster)) {
      const { Cluster, Redis } = await import("ioredis");
      const { RedisLeaseAllocator } = await import("./redis-allocator.js");
      // Fail a call at once while disconnected (a 503 now, not a queue behind the reconnect); the kit's probe saw Redis answer.
      const options = { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: server.timeouts.storeMs };
      redis = c.redisCluster
        ? new Cluster(c.redisCluster.map(hostPortOf), { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => 500, ...clusterOptions(access(c), options) })
        : new Redis(c.redis!, { lazyConnect: true, retryStrategy: () => 500, ...options });
      redis.on("error", () => undefined);
      if (redis instanceof Cluster) followCredentials(redis, access(c), (level, m) => log[level](m));
      await redis.connect();
      const conn = redis;
      const target = c.redisCluster ? `Redis Cluster ${c.redisCluster.join(",")}` : `Redis at ${redactedUrl(c.redis!)}`;
      store = redisLeaseStore(configs, new RedisLeaseAllocator(redis, c.redisPrefix, "redis"), target);
      budgets = redisBudgetStore(redis, c.redisPrefix, target);
      ready["redis"] = () => (conn.status === "ready" ? true : `the connection to Redis is ${conn.status}: GetCapacity answers 503`);
    } else store = memoryLeaseStore(configs);
    // One clock node for both faces, so a reset's epoch is refused alike over HTTP and NATS.
    const node = c.maxOffsetMs === undefined ? undefined : new ClockNode({ clock, maxOffsetMs: c.maxOffsetMs, requireEpoch: hlcRequireEpochFromEnv(), metrics: new TimeMetrics(metrics) });
    let nc: import("nats").NatsConnection | undefined;
    let natsState: true | string = true;
    if (c.nats) {
      const { connect } = await import("nats");
      const { natsAuthenticator, serveAllocator } = await import("./nats.js");
      // The kit's probe saw the server greet; a connect that still fails is the start's one-line failure.
      // Its credentials are read and checked before connecting: a bad file is the start's one-line failure, naming it.
      const authenticator = c.natsNkeySeedFile === undefined ? undefined : natsAuthenticator("natsNkeySeedFile", c.natsNkeySeedFile);
      nc = await connect({
        servers: c.nats,
        timeout: server.timeouts.storeMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        name: "meridian-ratelimit-allocator",
        ...(authenticator ? { authenticator } : {}),
      });
      serveAllocator(nc, c.subject, store, clock, node && { node, warn: (r) => log.warn(r, "NATS message dropped: its HLC was refused") });
      const conn = nc;
      void (async () => {
        for await (const s of conn.status()) {
          if (s.type === "disconnect") natsState = `disconnected from NATS ${String(s.data)}: GetCapacity on ${c.subject}.getcapacity.* is not answered`;
          else if (s.type === "reconnect") natsState = true;
        }
      })().catch(() => undefined);
      ready["nats"] = () => (conn.isClosed() ? "the NATS connection is closed" : natsState);
    }
    return {
      store,
      routes: (app: FastifyInstance) => installAllocatorRoutes(app, store, budgets, clock, c.callers ? { spiffe: c.callers } : "public"),
      ready,
      hlc: node && httpHlc(node),
      started() {
        log.info({ resources: c.resources.map((r) => r.id), store: c.store, nats: c.nats ? `${c.subject}.getcapacity.*` : null }, "allocator serving");
      },
      async close() {
        // Drain answers the requests in flight; a connection that is down has none to answer.
        if (nc && !nc.isClosed()) await (natsState === true ? nc.drain() : nc.close()).catch(() => undefined);
        redis?.disconnect();
      },
    };
  },
});
