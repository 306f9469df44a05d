/**
 * Wires one rate limit server: config (a file or a directory, reloaded when it changes or on
 * `reload()`; a bad config is refused and the running one kept), the store (memory; Redis or Redis
 * Cluster behind the failure policy), global limits, metrics, and the HTTP and gRPC listeners.
 * `startServer` is the one entry point the CLI and `meridian local` share.
 */
import type * as grpc from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import { hostname } from "node:os";
import { systemClock, type Clock } from "../../common/clock.js";
import { installHlc } from "../../clock/http.js";
import type { ClockNode } from "../../clock/node.js";
import type { ChargePolicy } from "../core/request.js";
import { loadConfig, watchConfig, type LoadedConfig } from "../config/load.js";
import { GlobalAllocator } from "../global/allocator.js";
import { RedisLeaseAllocator } from "../global/redis-allocator.js";
import { MemoryStore } from "../store/memory.js";
import type { RateLimitStore } from "../store/port.js";
import { RedisStore } from "../store/redis.js";
import { ResilientStore, type FailureMode } from "../store/resilient.js";
import { GlobalLimits, inProcessSource } from "./global-limits.js";
import { startGrpc } from "./grpc.js";
import { buildHttp } from "./http.js";
import { OverLimitCache } from "./local-cache.js";
import { RateLimitMetrics } from "./metrics.js";
import { RateLimitService } from "./rls.js";

export interface ServerOptions {
  /** A YAML file, or a directory of them. */
  configPath: string;
  mergeDomains?: boolean;
  /** Reload when the config changes on disk (default true). */
  watch?: boolean;
  redisUrl?: string | undefined;
  /** Redis Cluster seed nodes, `host:port` each (instead of redisUrl). */
  redisCluster?: string[] | undefined;
  redisPrefix?: string;
  failureMode?: FailureMode;
  instances?: number;
  chargePolicy?: ChargePolicy;
  maxDescriptors?: number;
  nearLimitRatio?: number;
  globalShadowMode?: boolean;
  responseDynamicMetadata?: boolean;
  /** Entries in the over-limit cache (0 disables it; default 100 000). */
  localCacheEntries?: number;
  port: number;
  grpcPort: number;
  host?: string;
  clock?: Clock;
  /** This instance's region (its client id at the global allocator); default: the host name. */
  region?: string;
  /** Lease refresh and length for `global: true` limits (defaults 250 ms and 5 s). */
  leaseRefreshMs?: number;
  leaseMs?: number;
  /** HLC propagation (x-meridian-hlc on HTTP, meridian-hlc on gRPC) with this service's clock node. */
  hlc?: ClockNode;
  onReload?: (result: { ok: true; domains: string[] } | { ok: false; error: string }) => void;
}

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  service: RateLimitService;
  store: RateLimitStore;
  metrics: RateLimitMetrics;
  /** Re-read the config now; throws ConfigError (and keeps the running config) when it is bad. */
  reload(): LoadedConfig;
  close(): Promise<void>;
}

/** Parse and compile a config file or directory (for `validate` and tests). */
export { loadConfig } from "../config/load.js";

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const clock = o.clock ?? systemClock;
  const config = loadConfig(o.configPath, o.mergeDomains);
  const remote = o.redisCluster?.length
    ? new RedisStore({ cluster: o.redisCluster.map(hostPort), prefix: o.redisPrefix })
    : o.redisUrl
      ? new RedisStore({ url: o.redisUrl, prefix: o.redisPrefix })
      : undefined;
  const store: RateLimitStore = remote ? new ResilientStore(remote, { mode: o.failureMode ?? "unavailable", instances: o.instances ?? 1, clock }) : new MemoryStore();
  // Global limits lease capacity through the shared Redis (every region's service sees the same
  // allocator state) or, without Redis, from an in-process allocator serving this instance alone.
  const leases = o.redisUrl && !o.redisCluster?.length ? new RedisLeaseAllocator(o.redisUrl) : undefined;
  const globals = new GlobalLimits({
    client: o.region ?? hostname(),
    source: leases ? (r, client, wants, now) => leases.getCapacity(r, client, wants, now) : inProcessSource(new GlobalAllocator([])),
    clock,
    refreshMs: o.leaseRefreshMs,
    leaseMs: o.leaseMs,
  });
  const metrics = new RateLimitMetrics();
  metrics.configLoads.inc({ result: "success" });
  const localCache = o.localCacheEntries === 0 ? null : new OverLimitCache(o.localCacheEntries ?? 100_000);
  const service = new RateLimitService(config.domains, store, clock, {
    chargePolicy: o.chargePolicy,
    maxDescriptors: o.maxDescriptors,
    nearLimitRatio: o.nearLimitRatio,
    globalShadowMode: o.globalShadowMode,
    responseDynamicMetadata: o.responseDynamicMetadata,
    stats: metrics,
    localCache,
    globals,
  });
  metrics.gauge("ratelimit_local_cache_entries", "counters known to be over their limit", () => localCache?.size ?? 0);
  if (store instanceof ResilientStore) metrics.gauge("ratelimit_store_degraded", "1 while the store is unreachable", () => (store.report().degraded ? 1 : 0));
  const status = () => (store instanceof ResilientStore ? { store: remote!.isCluster ? "redis-cluster" : "redis", ...store.report() } : { store: "memory" });
  const http: FastifyInstance = buildHttp(service, status);
  http.get("/metrics", async (_req, reply) => {
    void reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  if (o.hlc) installHlc(http, o.hlc);
  const reload = (): LoadedConfig => {
    try {
      const next = loadConfig(o.configPath, o.mergeDomains);
      service.reload(next.domains);
      metrics.configLoads.inc({ result: "success" });
      o.onReload?.({ ok: true, domains: [...next.domains.keys()] });
      return next;
    } catch (err) {
      metrics.configLoads.inc({ result: "error" });
      o.onReload?.({ ok: false, error: (err as Error).message });
      throw err;
    }
  };
  const stopWatching =
    o.watch === false
      ? () => {}
      : watchConfig(o.configPath, () => {
          try {
            reload();
          } catch {
            /* reported through onReload and the config_load{result="error"} metric */
          }
        });
  let grpcServer: grpc.Server | undefined;
  const shutdown = async () => {
    stopWatching();
    await http.close();
    service.close();
    leases?.close();
    await store.close();
  };
  try {
    await http.listen({ port: o.port, host: o.host ?? "0.0.0.0" });
    const g = await startGrpc(service, o.grpcPort, o.host ?? "0.0.0.0", { hlc: o.hlc });
    grpcServer = g.server;
    const address = http.server.address();
    return {
      httpPort: typeof address === "object" && address ? address.port : o.port,
      grpcPort: g.port,
      service,
      store,
      metrics,
      reload,
      async close() {
        await new Promise<void>((resolve) => grpcServer!.tryShutdown(() => resolve()));
        await shutdown();
      },
    };
  } catch (err) {
    grpcServer?.forceShutdown();
    await shutdown();
    throw err;
  }
}

function hostPort(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`Redis Cluster node "${s}"; expected host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}
