/**
 * One typed call that starts a rate limit server in-process — the kit's `startService` with
 * `ratelimitService` — for `meridian local` (a region's limiter) and tests. The pod runs the same
 * definition through `meridian ratelimit serve` (runService). `close()` drains as the kit does.
 */
import type { Clock } from "../../common/clock.js";
import type { ClockNode } from "../../clock/index.js";
import { startService, type RunningService } from "../../kit/index.js";
import type { ChargePolicy } from "../core/request.js";
import type { LoadedConfig } from "../config/load.js";
import type { RateLimitStore } from "../store/port.js";
import type { FailureMode } from "../store/resilient.js";
import type { RateLimitMetrics } from "./metrics.js";
import type { RateLimitService } from "./rls.js";
import { defineRatelimitService, ratelimitService, type RatelimitConfig } from "./service.js";

export interface ServerOptions {
  /** envoyproxy/ratelimit YAML: a file, or a directory of them. */
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
  /** Global limits: budget asked for beyond a request's cost, as a fraction of the limit (default 0.05). */
  globalPrefetch?: number;
  /** HLC propagation (x-meridian-hlc on HTTP, meridian-hlc on gRPC) with this max offset… */
  maxOffsetMs?: number;
  /** …or with this clock node (a region's own, in `meridian local`). */
  hlc?: ClockNode;
  /** The kit's `server` section beyond host and port (tls, auth, limits). */
  server?: Record<string, unknown>;
}

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  service: RateLimitService;
  store: RateLimitStore;
  metrics: RateLimitMetrics;
  kit: RunningService<RatelimitConfig>;
  /** Re-read the config now; throws ConfigError (and keeps the running config) when it is bad. */
  reload(): LoadedConfig;
  close(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const host = o.host ?? "127.0.0.1";
  const raw: Record<string, unknown> = {
    rules: o.configPath,
    mergeDomains: o.mergeDomains,
    watch: o.watch,
    redis: o.redisCluster?.length ? undefined : o.redisUrl,
    redisCluster: o.redisCluster?.length ? o.redisCluster : undefined,
    redisPrefix: o.redisPrefix,
    failureMode: o.failureMode,
    instances: o.instances,
    chargePolicy: o.chargePolicy,
    maxDescriptors: o.maxDescriptors,
    nearLimitRatio: o.nearLimitRatio,
    globalShadowMode: o.globalShadowMode,
    responseDynamicMetadata: o.responseDynamicMetadata,
    localCacheEntries: o.localCacheEntries,
    region: o.region,
    globalPrefetch: o.globalPrefetch,
    maxOffsetMs: o.maxOffsetMs,
    grpc: { host, port: o.grpcPort },
    server: { ...o.server, host, port: o.port },
  };
  for (const k of Object.keys(raw)) if (raw[k] === undefined) delete raw[k];
  const kit = await startService(o.hlc ? defineRatelimitService({ hlc: o.hlc }) : ratelimitService, raw, { clock: o.clock, processMetrics: false });
  const parts = kit.parts;
  return {
    httpPort: kit.port,
    grpcPort: Number(new URL(kit.endpoints.grpc!).port),
    service: parts.service,
    store: parts.store,
    metrics: parts.metrics,
    kit,
    reload: parts.reload,
    close: () => kit.close(),
  };
}
