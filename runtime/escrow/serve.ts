/**
 * Wiring for an escrow server: pick the store (memory, Redis, PostgreSQL, or Redis journaled to
 * PostgreSQL), build the EscrowService for the listed regions from the stack's escrow settings, create
 * the stack's inventory, install HLC propagation, and listen. `meridian escrow serve` and `meridian local` both start it here.
 */
import type { FastifyInstance } from "fastify";
import { regionDemands } from "../../model/escrow/estate.js";
import type { EstateSpec } from "../../model/estate.js";
import { ClockNode } from "../clock/node.js";
import { installHlc } from "../clock/http.js";
import { systemClock } from "../common/clock.js";
import { createGcraLimiter } from "../ratelimit/index.js";
import { DEFAULT_ADMISSION } from "./flashsale/sale.js";
import { buildEscrowApp } from "./http.js";
import { DEFAULT_SETTINGS, EscrowService } from "./service.js";
import type { EscrowStore } from "./store.js";

export interface EscrowServerOptions {
  spec: Pick<EstateSpec, "regions" | "runtime" | "time">;
  regions: string[];
  port: number;
  host?: string;
  redisUrl?: string;
  postgresUrl?: string;
  leaseTtlSeconds?: number;
  reservationTtlSeconds?: number;
  /** A store the caller opened (the local estate's shared pool); used instead of the URLs above. */
  store?: EscrowStore;
  /** Told when the store already holds a SKU with a different total (the store's is kept). */
  onConflict?: (sku: string) => void;
}

export interface EscrowServer {
  app: FastifyInstance;
  service: EscrowService;
  store: EscrowStore;
  url: string;
  close(): Promise<void>;
}

/** The store the options name (Redis, PostgreSQL, both, or in-memory), opened and migrated. */
export async function openEscrowStore(o: Pick<EscrowServerOptions, "redisUrl" | "postgresUrl">): Promise<EscrowStore> {
  if (o.redisUrl && o.postgresUrl) {
    // Both: Redis decides (pool, leases, fenced sales), PostgreSQL journals every sale before its ack.
    const { JournaledEscrowStore } = await import("./stores/journaled.js");
    const journaled = new JournaledEscrowStore({ redisUrl: o.redisUrl, postgresUrl: o.postgresUrl });
    await journaled.migrate();
    return journaled;
  }
  if (o.redisUrl) {
    const { RedisEscrowStore } = await import("./stores/redis.js");
    return new RedisEscrowStore({ url: o.redisUrl });
  }
  if (o.postgresUrl) {
    const { PostgresEscrowStore } = await import("./stores/postgres.js");
    const pg = new PostgresEscrowStore({ url: o.postgresUrl });
    await pg.migrate();
    return pg;
  }
  const { MemoryEscrowStore } = await import("./stores/memory.js");
  return new MemoryEscrowStore();
}

export async function startEscrowServer(o: EscrowServerOptions): Promise<EscrowServer> {
  const cfg = o.spec.runtime.escrow;
  const store = o.store ?? (await openEscrowStore(o));
  const a = cfg.admission;
  const service = new EscrowService({
    store,
    regions: o.regions,
    estate: regionDemands(o.spec as EstateSpec),
    // Per-user limits: the rate limiter's embedded GCRA (redis-cell semantics).
    limiter: createGcraLimiter({ ratePerSecond: a.userRatePerSecond, burst: a.userBurst }),
    settings: {
      reservationTtlMs: (o.reservationTtlSeconds ?? cfg.reservationTtlSeconds) * 1000,
      leaseTtlMs: (o.leaseTtlSeconds ?? cfg.leaseTtlSeconds) * 1000,
      rebalanceIntervalMs: cfg.rebalanceIntervalSeconds * 1000,
      coefficients: cfg.allocation.coefficients,
      globalReserveFraction: cfg.allocation.globalReserveFraction,
      policy: DEFAULT_SETTINGS.policy,
      admission: {
        ...DEFAULT_ADMISSION,
        perUserLimit: a.perUserLimit,
        maxConcurrentCheckouts: a.maxConcurrentCheckouts,
        queuePolicy: a.queuePolicy,
        batchSize: a.batchSize,
        lowInventoryFraction: a.lowInventoryFraction,
      },
    },
  });
  for (const [sku, total] of Object.entries(cfg.inventory)) {
    const { outcome } = await service.createItem(sku, total);
    if (outcome === "conflict") o.onConflict?.(sku);
  }
  const app = buildEscrowApp(service);
  // HLC propagation: every request's x-meridian-hlc forwards this service's clock (400 malformed, 409
  // beyond max offset), and every answer carries it back, so causality follows a purchase across regions.
  const clockNode = new ClockNode({ clock: systemClock, maxOffsetMs: o.spec.time.maxOffsetMs });
  installHlc(app, clockNode);
  const url = await app.listen({ port: o.port, host: o.host ?? "127.0.0.1" });
  service.start();
  return {
    app,
    service,
    store,
    url,
    close: async () => {
      await app.close();
      await service.close();
    },
  };
}
