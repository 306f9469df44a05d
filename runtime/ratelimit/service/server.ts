/**
 * Wires the service: config file → domains, store (memory, or Redis behind the resilient fallback),
 * the RLS service, the HTTP and gRPC listeners. `reload()` re-reads the config (the CLI calls it on
 * SIGHUP); a bad config is refused and the running one kept.
 */
import type * as grpc from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import { readFileSync } from "node:fs";
import { systemClock, type Clock } from "../../common/clock.js";
import { installHlc } from "../../clock/http.js";
import type { ClockNode } from "../../clock/node.js";
import { ConfigError, parseRateLimitConfig, type DomainConfig } from "../config/schema.js";
import { MemoryStore } from "../store/memory.js";
import { RedisStore } from "../store/redis.js";
import { ResilientStore, type FailureMode } from "../store/resilient.js";
import type { RateLimitStore } from "../store/store.js";
import { hostname } from "node:os";
import { GlobalAllocator } from "../global/allocator.js";
import { RedisLeaseAllocator } from "../global/redis-allocator.js";
import { GlobalLimits, inProcessSource } from "./global-limits.js";
import { startGrpc } from "./grpc.js";
import { buildHttp } from "./http.js";
import { RateLimitService } from "./rls.js";

export interface ServerOptions {
  configPath: string;
  redisUrl?: string | undefined;
  failureMode?: FailureMode;
  instances?: number;
  port: number;
  grpcPort: number;
  host?: string;
  clock?: Clock;
  /** This instance's region (its client id at the global allocator); default: the host name. */
  region?: string;
  /** Lease refresh and length for `global: true` limits (defaults 250 ms and 5 s). */
  leaseRefreshMs?: number;
  leaseMs?: number;
  /** HLC propagation on the HTTP API (x-meridian-hlc in and out) with this service's clock node. */
  hlc?: ClockNode;
}

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  service: RateLimitService;
  store: RateLimitStore;
  reload(): DomainConfig[];
  close(): Promise<void>;
}

export function loadConfigFile(path: string): DomainConfig[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  return parseRateLimitConfig(text, path);
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const clock = o.clock ?? systemClock;
  const domains = loadConfigFile(o.configPath);
  const store: RateLimitStore = o.redisUrl
    ? new ResilientStore(new RedisStore({ url: o.redisUrl }), { mode: o.failureMode ?? "local", instances: o.instances ?? 1, clock })
    : new MemoryStore();
  // Global limits lease capacity through the shared Redis (every region's service sees the same
  // allocator state) or, without Redis, from an in-process allocator serving this instance alone.
  const leases = o.redisUrl ? new RedisLeaseAllocator(o.redisUrl) : undefined;
  const globals = new GlobalLimits({
    client: o.region ?? hostname(),
    source: leases ? (r, client, wants, now) => leases.getCapacity(r, client, wants, now) : inProcessSource(new GlobalAllocator([])),
    clock,
    refreshMs: o.leaseRefreshMs,
    leaseMs: o.leaseMs,
  });
  const service = new RateLimitService(domains, store, clock, globals);
  const http: FastifyInstance = buildHttp(service, () => (store instanceof ResilientStore ? { store: "redis", ...store.report() } : { store: "memory" }));
  if (o.hlc) installHlc(http, o.hlc);
  let grpcServer: grpc.Server | undefined;
  try {
    await http.listen({ port: o.port, host: o.host ?? "0.0.0.0" });
    const g = await startGrpc(service, o.grpcPort, o.host ?? "0.0.0.0", o.hlc);
    grpcServer = g.server;
    const address = http.server.address();
    return {
      httpPort: typeof address === "object" && address ? address.port : o.port,
      grpcPort: g.port,
      service,
      store,
      reload() {
        const next = loadConfigFile(o.configPath);
        service.reload(next);
        return next;
      },
      async close() {
        await new Promise<void>((resolve) => grpcServer!.tryShutdown(() => resolve()));
        await http.close();
        service.close();
        leases?.close();
        await store.close();
      },
    };
  } catch (err) {
    grpcServer?.forceShutdown();
    await http.close();
    service.close();
    leases?.close();
    await store.close();
    throw err;
  }
}
