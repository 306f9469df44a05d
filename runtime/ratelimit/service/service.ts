/**
 * The rate limit service (`meridian ratelimit serve`), defined with the service kit: the
 * envoyproxy/ratelimit rules (`rules`: a YAML file or directory, reloaded when it changes), the store
 * (memory; Redis or Redis Cluster behind the failure policy), global limits, operator blocks, the
 * burn-rate shedding (`burnRate`) and AIMD throttling (`aimd`), both fed by reported outcomes, and three faces — Envoy RLS v3 over gRPC (a kit listener,
 * with the HTTP check's `callers` and HLC rules), `POST /v1/ratelimit` over HTTP, and the operator-only admin API. Ready once a config is loaded; with the `unavailable`
 * failure policy Redis is also a store the kit probes (unreachable at start: one line, exit 1).
 */
import type { Cluster } from "ioredis";
import { hostname } from "node:os";
import { z } from "zod";
import { defineService, type Listener } from "../../kit/index.js";
import { ClockNode, hlcParts, hlcRequireEpochFromEnv, referenceSync, TimeMetrics, timeReferenceSchema } from "../../clock/index.js";
import { CHARGE_POLICIES } from "../core/request.js";
import { loadConfig, watchConfig } from "../config/load.js";
import { httpBudgetSource } from "../global/budget-client.js";
import { RedisBudgetAllocator } from "../global/redis-budget.js";
import { WindowBudgetAllocator } from "../global/window-budget.js";
import { clusterOptions, clusterProbe, followCredentials, hostPortOf, hostPortSchema, redisAuthSchema, redisTlsSchema, type ClusterAccess } from "../store/cluster-access.js";
import { MemoryStore } from "../store/memory.js";
import type { RateLimitStore } from "../store/port.js";
import type { RedisStoreOptions } from "../store/redis.js";
import { FAILURE_MODES, ResilientStore } from "../store/resilient.js";
import { installAdminRoutes } from "./admin.js";
import { BlockList } from "./blocks.js";
import { GlobalBudgets, inProcessBudgets } from "./global-budgets.js";
import { startGrpc } from "./grpc.js";
import { grpcAuthorizer, grpcServerCredentials } from "./grpc-auth.js";
import { installRlsRoutes } from "./http.js";
import { OverLimitCache } from "./local-cache.js";
import { RateLimitMetrics } from "./metrics.js";
import { RateLimitService } from "./rls.js";
import { burnRateConfigSchema, LoadShedder } from "./shedding.js";
import { aimdConfigSchema, AimdThrottle } from "./aimd-throttle.js";
import { anomalyConfigSchema, installAnomalyRoutes, RateAnomalies, teeStats } from "./anomalies.js";
import { HttpError, parseInput } from "../../kit/index.js";
import type * as grpc from "@grpc/grpc-js";

const hostPort = hostPortSchema;
const clusterAccess = (c: { redisCluster?: string[] | undefined; redisTls?: ClusterAccess["tls"]; redisAuth?: ClusterAccess["auth"] }): ClusterAccess => ({
  nodes: c.redisCluster ?? [],
  tls: c.redisTls,
  auth: c.redisAuth,
});

export const ratelimitConfigSchema = z
  .object({
    /** envoyproxy/ratelimit YAML: a file, or a directory of *.yaml. */
    rules: z.string().min(1),
    mergeDomains: z.boolean().default(false),
    /** Reload when the rules change on disk. */
    watch: z.boolean().default(true),
    redis: z
      .string()
      .regex(/^rediss?:\/\//, "expected a redis:// URL")
      .optional(),
    redisCluster: z.array(hostPort).min(1).optional(),
    /** TLS towards the Redis Cluster (a CA bundle file, the certificates' name); a single Redis takes rediss:// instead. */
    redisTls: redisTlsSchema.optional(),
    /** The Redis Cluster's ACL user or AUTH token, from files (a mounted Secret): never in this file or on the command line. */
    redisAuth: redisAuthSchema.optional(),
    redisPrefix: z.string().default("mrl:"),
    /** A Redis call slower than this fails, and the failure policy decides. */
    redisTimeoutMs: z.number().int().min(10).max(60_000).default(500),
    failureMode: z.enum(FAILURE_MODES).default("unavailable"),
    /** Replicas sharing the store (sizes the local fallback's share). */
    instances: z.number().int().min(1).default(1),
    chargePolicy: z.enum(CHARGE_POLICIES as ["independent", "atomic"]).default("independent"),
    maxDescriptors: z.number().int().min(1).max(10_000).default(256),
    nearLimitRatio: z.number().gt(0).max(1).default(0.8),
    globalShadowMode: z.boolean().default(false),
    responseDynamicMetadata: z.boolean().default(false),
    /** Over-limit counters remembered locally (0 disables the cache). */
    localCacheEntries: z.number().int().min(0).default(100_000),
    /** This replica's region at the global allocator (`global: true` limits); default the host name. */
    region: z.string().min(1).optional(),
    /** Global limits: budget asked for beyond a request's cost, as a fraction of the limit. */
    globalPrefetch: z.number().min(0).max(1).default(0.05),
    /**
     * Global limits from the allocator service (`meridian ratelimit allocator`, its per-window budgets) instead
     * of this service's own Redis: shared by every region that reaches the allocator. While it does not answer,
     * `failureMode` decides (default: the store's); `local` spends limit / `instances` per window on each
     * replica, so with `instances` ≥ the replicas of every region together the regions admit at most twice the
     * limit in a window the allocator is down for (what it granted before, ≤ the limit, plus the fallback's).
     */
    globalAllocator: z
      .object({
        url: z.string().regex(/^https?:\/\/[^\s]+$/, "expected http(s)://host:port"),
        timeoutMs: z.number().int().min(10).max(60_000).default(500),
        /**
         * Longest a decision waits for the allocator once this replica's grant is spent (grants are asked for
         * ahead of need, so this is rare), then `failureMode`; keep it below Envoy's rate limit filter timeout.
         */
        waitMs: z.number().int().min(0).max(60_000).default(40),
        failureMode: z.enum(FAILURE_MODES).optional(),
        /** Replicas sharing the limits across every region (sizes the `local` fallback); default `instances`. */
        instances: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    grpc: z
      .object({ host: z.string().min(1).optional(), port: z.number().int().min(0).max(65535).default(8081) })
      .strict()
      .prefault({}),
    /** HLC propagation (x-meridian-hlc, meridian-hlc gRPC metadata) with this max offset. */
    maxOffsetMs: z.number().positive().max(60_000).optional(),
    /** SLO burn-rate shedding from reported outcomes (`POST /v1/ratelimit/outcomes`). */
    burnRate: burnRateConfigSchema.optional(),
    /** AIMD throttling: an adaptive admission rate moved by reported outcomes (`POST /v1/ratelimit/outcomes`). */
    aimd: aimdConfigSchema.optional(),
    /** Anomaly detection on each rule's request rate (anomalies.ts): reported on /metrics, the log and an operator route. */
    anomaly: anomalyConfigSchema.optional(),
    /** Where this node's clock is measured (with maxOffsetMs): the region's grandmaster or the node's chrony. */
    timeReference: timeReferenceSchema.optional(),
    /**
     * SPIFFE IDs allowed to check: `POST /v1/ratelimit` and the gRPC `ShouldRateLimit` (grpc-auth.ts), from
     * `server.tls` (mTLS) or `server.identity` (the sidecar's XFCC). Default: anyone, as Envoy's RLS
     * (`meridian local` runs so).
     */
    callers: z.array(z.string().startsWith("spiffe://")).optional(),
    /**
     * SPIFFE IDs allowed the HTTP check (`POST /v1/ratelimit`), whose body names the buckets it charges; default:
     * `callers`. The blueprint lists the services alone: the gateway checks over gRPC (Envoy's rate-limit filter, with
     * descriptors it builds from the verified request), never over HTTP.
     */
    httpCallers: z.array(z.string().startsWith("spiffe://")).optional(),
    /**
     * SPIFFE IDs allowed to report `POST /v1/ratelimit/outcomes`, which moves shedding and AIMD for everyone;
     * default: `callers` (and, without `callers`, operators only). The blueprint lists the services alone: the
     * gateway may check but not report, as the mesh's AuthorizationPolicy says.
     */
    outcomesCallers: z.array(z.string().startsWith("spiffe://")).optional(),
  })
  .strict()
  .refine((c) => !(c.redis && c.redisCluster), { message: "redis and redisCluster are exclusive", path: ["redisCluster"] })
  .refine((c) => c.redisCluster || (!c.redisTls && !c.redisAuth), {
    message: "redisTls and redisAuth are for redisCluster; a single Redis takes them in its URL (rediss://user:password@host)",
    path: ["redisCluster"],
  })
  .refine((c) => c.timeReference === undefined || c.maxOffsetMs !== undefined, { message: "a time reference measures the HLC's node: set maxOffsetMs too", path: ["timeReference"] });
export type RatelimitConfig = z.output<typeof ratelimitConfigSchema>;

/** ioredis loads only for a service that uses Redis: one on the memory store (a `meridian local` region) starts without it. */
const redisStore = async (o: RedisStoreOptions) => new (await import("../store/redis.js")).RedisStore(o);

/** The definition; `hlc` lets an in-process caller share its region's clock node (else `maxOffsetMs` makes one). */
export function defineRatelimitService(extra: { hlc?: ClockNode } = {}) {
  return defineService({
    name: "ratelimit",
    config: ratelimitConfigSchema,
    // Probed only when an unreachable Redis should stop the service (`unavailable`); the other failure
    // policies exist to keep serving without it.
    stores: (c) => ({
      redis: c.failureMode !== "unavailable" ? undefined : c.redisCluster ? clusterProbe(clusterAccess(c)) : c.redis ? { kind: "redis", url: c.redis } : undefined,
    }),
    async start({ config: c, clock, log, metrics: registry, server }) {
      const loaded = loadConfig(c.rules, c.mergeDomains);
      const remote = c.redisCluster
        ? await redisStore({ cluster: c.redisCluster.map(hostPortOf), clusterOptions: clusterOptions(clusterAccess(c)), prefix: c.redisPrefix, commandTimeoutMs: c.redisTimeoutMs })
        : c.redis
          ? await redisStore({ url: c.redis, prefix: c.redisPrefix, commandTimeoutMs: c.redisTimeoutMs })
          : undefined;
      if (remote && c.redisCluster) followCredentials(remote.client as Cluster, clusterAccess(c), (level, m) => log[level](m));
      const store: RateLimitStore = remote
        ? new ResilientStore(remote, { mode: c.failureMode, instances: c.instances, clock, onDegraded: (e) => log.warn({ err: e.message }, "rate limit store unreachable") })
        : new MemoryStore();
      // Global limits lease per-window budgets through the shared Redis (every region's replicas see one
      // allocator state) or, without Redis, from an in-process allocator serving this replica alone.
      // With `globalAllocator`, from the allocator service, which every region reaches: each replica is its own
      // client there (region, pod, process), so replicas of a region never share one grant.
      const budgets = remote ? new RedisBudgetAllocator(remote.client, c.redisPrefix) : undefined;
      const ga = c.globalAllocator;
      const globals = new GlobalBudgets({
        client: ga ? `${c.region ?? "-"}/${hostname()}/${process.pid}` : `${c.region ?? hostname()}/${process.pid}`,
        source: ga ? httpBudgetSource(ga.url, ga.timeoutMs) : budgets ? (r, now) => budgets.acquire(r, now) : inProcessBudgets(new WindowBudgetAllocator()),
        clock,
        prefetch: c.globalPrefetch,
        failureMode: ga?.failureMode ?? c.failureMode,
        instances: ga?.instances ?? c.instances,
        waitMs: ga?.waitMs,
      });
      const blocks = new BlockList(clock, remote ? { client: remote.client, key: `${c.redisPrefix}blocks` } : undefined);
      const metrics = new RateLimitMetrics(registry);
      metrics.configLoads.inc({ result: "success" });
      const localCache = c.localCacheEntries === 0 ? null : new OverLimitCache(c.localCacheEntries);
      const shedder = c.burnRate ? new LoadShedder(c.burnRate) : undefined;
      const aimd = c.aimd ? new AimdThrottle(c.aimd) : undefined;
      const anomalies = c.anomaly ? new RateAnomalies(c.anomaly, registry, clock, log) : undefined;
      const service = new RateLimitService(loaded.domains, store, clock, {
        chargePolicy: c.chargePolicy,
        maxDescriptors: c.maxDescriptors,
        nearLimitRatio: c.nearLimitRatio,
        globalShadowMode: c.globalShadowMode,
        responseDynamicMetadata: c.responseDynamicMetadata,
        stats: anomalies ? teeStats(metrics, anomalies) : metrics,
        localCache,
        globals,
        blocks,
        shedder,
        aimd,
      });
      metrics.gauge("ratelimit_local_cache_entries", "counters known to be over their limit", () => localCache?.size ?? 0);
      metrics.gauge("ratelimit_blocks", "counters blocked by an operator", () => blocks.list().length);
      if (shedder) {
        metrics.gauge("ratelimit_burn_rate_shed", "requests shed by burn-rate throttling since start", () => shedder.shed);
        metrics.gauge("ratelimit_burn_rate_admit_fraction", "fraction of sheddable requests admitted now", () => shedder.admitFraction(clock.now()));
      }
      if (aimd) {
        metrics.gauge("ratelimit_aimd_limit", "requests per second AIMD admits now (this replica)", () => aimd.limit(clock.now()));
        metrics.gauge("ratelimit_aimd_throttled", "requests throttled by AIMD since start", () => aimd.throttled);
        metrics.gauge("ratelimit_aimd_decreases", "AIMD intervals closed with a congestion signal since start", () => aimd.aimd.decreases);
      }
      metrics.counter("ratelimit_global_allocator_waits_total", "global-limit decisions that waited on an allocator call", () => globals.waits);
      metrics.counter("ratelimit_global_allocator_fallbacks_total", "global-limit decisions the failure policy made (allocator failed or slower than waitMs)", () => globals.fallbacks);
      metrics.counter("ratelimit_global_allocator_prefetches_total", "allocator calls made before a grant ran out", () => globals.prefetches);
      metrics.counter("ratelimit_global_allocator_next_window_prefetches_total", "allocator calls for the next window's grant, made before it started", () => globals.nextWindowPrefetches);
      if (store instanceof ResilientStore) metrics.gauge("ratelimit_store_degraded", "1 while the store is unreachable", () => (store.report().degraded ? 1 : 0));
      // An in-process caller's node is measured by the caller; ours by the config's reference, with its
      // offset, skew state and ε on /metrics.
      const hlc =
        extra.hlc ?? (c.maxOffsetMs === undefined ? undefined : new ClockNode({ clock, maxOffsetMs: c.maxOffsetMs, requireEpoch: hlcRequireEpochFromEnv(), metrics: new TimeMetrics(registry) }));
      const sync = extra.hlc || !hlc || !c.timeReference ? null : referenceSync(hlc, c.timeReference, clock, (err) => log.warn({ err: err.message }, "time reference unreachable"));
      const reload = () => {
        try {
          const next = loadConfig(c.rules, c.mergeDomains);
          service.reload(next.domains);
          metrics.configLoads.inc({ result: "success" });
          log.info({ domains: [...next.domains.keys()] }, "rate limit config reloaded");
          return next;
        } catch (err) {
          metrics.configLoads.inc({ result: "error" });
          log.error({ err: (err as Error).message }, "rate limit config rejected; keeping the running one");
          throw err;
        }
      };
      let stopWatching = () => {};
      // Built now, so a bad caller ID or an unreadable TLS file fails the start as a config error.
      const authorize = grpcAuthorizer(c.callers, server);
      const credentials = grpcServerCredentials(server);
      let grpcServer: grpc.Server | undefined;
      const grpcListener: Listener = {
        name: "grpc",
        host: c.grpc.host ?? server.host,
        port: c.grpc.port,
        scheme: "grpc",
        async listen() {
          const g = await startGrpc(service, c.grpc.port, c.grpc.host ?? server.host, { hlc, authorize, credentials });
          grpcServer = g.server;
          return g.port;
        },
        close: () => new Promise<void>((resolve) => (grpcServer ? grpcServer.tryShutdown(() => resolve()) : resolve())),
      };
      const status = () => (store instanceof ResilientStore ? { store: remote!.isCluster ? "redis-cluster" : "redis", ...store.report() } : { store: "memory" });
      return {
        service,
        store,
        metrics,
        blocks,
        anomalies,
        reload,
        routes(app) {
          const checkers = c.httpCallers ?? c.callers;
          installRlsRoutes(app, service, status, checkers ? { spiffe: checkers } : "public");
          installAdminRoutes(app, service, blocks, clock);
          installAnomalyRoutes(app, anomalies);
          // Outcomes move the shedding and the AIMD limit: only outcomesCallers (default the RLS callers; without either, operators).
          const reporters = c.outcomesCallers ?? c.callers;
          const outcomes = z
            .object({
              good: z.number().int().nonnegative().max(1e9),
              bad: z.number().int().nonnegative().max(1e9),
              /** Latencies of (some of) the reported requests, for AIMD's percentile. */
              latenciesMs: z.array(z.number().nonnegative().max(3_600_000)).max(10_000).optional(),
              /** The protected service says it is overloaded (AIMD cuts this interval). */
              backpressure: z.boolean().optional(),
            })
            .strict();
          app.post("/v1/ratelimit/outcomes", { config: { auth: reporters ? { spiffe: reporters } : "operator" } }, async (req) => {
            if (!shedder && !aimd) throw new HttpError(404, "no adaptive throttling is configured", "set burnRate or aimd in the service config");
            const b = parseInput(outcomes, req.body, "body");
            const now = clock.now();
            shedder?.record(now, b.good, b.bad);
            aimd?.record(b, now);
            return { ...(shedder ? { admitFraction: shedder.admitFraction(now) } : {}), ...(aimd ? { aimdLimit: aimd.limit(now) } : {}) };
          });
        },
        // The time headers and consistency tokens every Meridian HTTP API carries (a decision spends budget: a write).
        ...(hlc ? hlcParts(hlc) : {}),
        listeners: [grpcListener],
        ready: { config: () => service.domainNames.length > 0 || "no rate limit domain loaded" },
        started() {
          sync?.start();
          anomalies?.start();
          blocks.start();
          void blocks.sync();
          // Hand unused grants of idle limits back to the allocator, so another region can spend them.
          if (ga) globals.start();
          if (c.watch)
            stopWatching = watchConfig(c.rules, () => {
              try {
                reload();
              } catch {
                /* logged and counted by reload */
              }
            });
        },
        async close() {
          sync?.stop();
          anomalies?.stop();
          stopWatching();
          blocks.stop();
          service.close();
          await store.close();
        },
      };
    },
  });
}

export const ratelimitService = defineRatelimitService();
