/**
 * The escrow service on the service kit (runtime/kit): pick the store (memory; PostgreSQL; Redis journaled
 * to PostgreSQL), build the service for the config's regions, create the configured inventory, give the
 * kit its routes (who may call each: buyers' JWTs from the config's issuer, admins, the mesh `callers`), its
 * HLC hooks and consistency tokens, and its
 * stores to probe at start and on every /readyz (with its clock: not ready while commits would be refused).
 * `meridian escrow serve` runs it as a process
 * (`runService`: the config file, one ready line, one-line failures, drain on SIGTERM); `meridian local`
 * and tests start it in-process (`startEscrowServer`, `startService`).
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { ClockNode, hlcParts, hlcRequireEpochFromEnv, referenceSync, TimeMetrics } from "../clock/index.js";
import { type Clock } from "../common/clock.js";
import { defineService, startService, type RunningService, type ServiceParts } from "../kit/index.js";
import { createGcraLimiter } from "../ratelimit/index.js";
import { escrowConfigSchema, type EscrowConfig } from "./config.js";
import { EscrowService } from "./service.js";
import { EscrowMapPublisher } from "./map-publisher.js";
import { fetchWithTimeout, MapClient, withBearerFile } from "../vmap/index.js";
import type { EscrowStore } from "./store/port.js";
import { standbyCheck, watchStandbys, type StandbyCheck } from "./standby-check.js";
import { installEscrowRoutes, type EscrowRouteOptions } from "./transport/http.js";
import { installTransitionRoutes } from "./transport/transitions.js";
import { TRANSITION_LOG_LIMITS } from "./transition-log.js";
import type { TransitionLogReader } from "./transport/transitions-reader.js";
import { openTransitionLog } from "./transport/transitions-open.js";
import { MemoryHtlcLedger, type HtlcLedger } from "./htlc/store.js";
import { buyerJwtConfig } from "./transport/identity.js";
import { GlobalWaitingRoom } from "./flashsale/global-room.js";
import type { QueueStore } from "./flashsale/queue-store.js";
import { QueueTokens, readQueueSecret } from "./transport/queue-token.js";

export interface EscrowStoreOptions {
  /** Redis for the hot path; only together with PostgreSQL (Redis alone can lose acknowledged sales). */
  redisUrl?: string;
  /** PostgreSQL: the authoritative ledger (alone), or the journal behind Redis. */
  postgresUrl?: string;
  /** Isolation for tests and several estates on one server: the SQL schema and the Redis key prefix ("mes:…"). */
  schema?: string;
  redisPrefix?: string;
  /**
   * Start although PostgreSQL streams to asynchronous standbys and to no synchronous one. A failover to such a standby
   * loses what it had not received and nothing else holds: with PostgreSQL alone the acknowledged sales, with or without
   * Redis the HTLC ledger's locks, claims and refunds. Without this the service refuses to start naming
   * `synchronous_standby_names` (a change while it runs: `watchStandbys`). `openEscrowStore` alone checks the store's part.
   */
  acceptAsyncStandbys?: boolean;
  /**
   * Longest wait for one PostgreSQL query's answer, ms: the store (alone, or the journal behind Redis), the HTLC ledger and
   * the waiting room's queue. A server that stops answering without closing the connection (SIGSTOP, a blackhole) fails
   * the call after it (503) instead of holding the request for ever. Default: the stores' (PG_QUERY_TIMEOUT_MS, 10 s).
   */
  postgresQueryTimeoutMs?: number;
  /** Longest wait for one Redis command's reply, ms: the store's and the waiting room's. Default: the stores' (5 s, store/redis.ts). */
  redisCommandTimeoutMs?: number;
}

/** What an in-process caller may hand the service beyond its config file. */
export interface EscrowInProcess {
  /**
   * This node's clock (HLC, TrueTime, skew monitor); default: one over `clock`. While its strong path is
   * closed (`strongRefusal()`: frozen skew, ε beyond its bound, a forward jump), commits answer 503 and
   * regions stop renewing their leases.
   */
  clockNode?: ClockNode;
  /** A store the caller opened (the local estate's shared pool); used instead of the URLs above and left open on close. */
  store?: EscrowStore;
  /** Told when the store already holds a configured SKU with a different total (the store's is kept). */
  onConflict?: (sku: string) => void;
  forward?: EscrowRouteOptions["forward"];
  /** Told when the config's time reference cannot be read (default: a warning in the service log). */
  onTimeReferenceError?: (error: Error) => void;
}

export interface EscrowServerOptions extends EscrowStoreOptions, EscrowInProcess {
  config: EscrowConfig;
  port: number;
  host?: string;
  clock?: Clock;
  /** Publish balances to this verifiable map (the serve config's `map`, `mapName`, `mapTokenFile`). */
  map?: { url: string; name: string; tokenFile?: string };
}

export interface EscrowServer {
  app: FastifyInstance;
  service: EscrowService;
  store: EscrowStore;
  url: string;
  /** The kit's running service (endpoints, readiness, the drain). */
  running: RunningService<EscrowServeConfig, EscrowParts>;
  close(): Promise<void>;
}

export async function openEscrowStore(o: EscrowStoreOptions): Promise<EscrowStore> {
  if (o.redisUrl && !o.postgresUrl) {
    throw new Error("a Redis store needs PostgreSQL behind it (--postgres): Redis alone loses acknowledged sales when it restarts, is restored from a snapshot or fails over");
  }
  if (o.redisUrl && o.postgresUrl) {
    const { JournaledEscrowStore } = await import("./store/journaled.js");
    const journaled = new JournaledEscrowStore({
      redisUrl: o.redisUrl,
      postgresUrl: o.postgresUrl,
      schema: o.schema,
      prefix: o.redisPrefix,
      queryTimeoutMs: o.postgresQueryTimeoutMs,
      redisCommandTimeoutMs: o.redisCommandTimeoutMs,
    });
    await journaled.migrate();
    return journaled;
  }
  if (o.postgresUrl) {
    const { PostgresEscrowStore } = await import("./store/postgres.js");
    const store = new PostgresEscrowStore({ url: o.postgresUrl, schema: o.schema, queryTimeoutMs: o.postgresQueryTimeoutMs });
    try {
      await store.migrate();
      const risk = o.acceptAsyncStandbys ? null : await store.asyncStandbys();
      if (risk) throw new Error(risk);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    return store;
  }
  const { MemoryEscrowStore } = await import("./store/memory.js");
  return new MemoryEscrowStore();
}

/** The HTLC ledger beside the escrow store: PostgreSQL (same schema) when the store is there, else memory. */
async function openHtlcLedger(o: EscrowStoreOptions): Promise<HtlcLedger> {
  if (!o.postgresUrl) return new MemoryHtlcLedger();
  const { PostgresHtlcLedger } = await import("./htlc/postgres.js");
  const ledger = new PostgresHtlcLedger({ url: o.postgresUrl, schema: o.schema, queryTimeoutMs: o.postgresQueryTimeoutMs });
  await ledger.migrate();
  return ledger;
}

/**
 * The global waiting room, when the config has its token secret: queue places live in Redis when there
 * is one (every region shares it), else PostgreSQL, else this process. A scheduled SKU without a
 * secret is refused: its buyers could never get a pass.
 */
export async function openWaitingRoom(o: EscrowStoreOptions & { config: EscrowConfig; clock: Clock }): Promise<GlobalWaitingRoom | undefined> {
  const scheduled = o.config.skus.filter((s) => s.opensAt).map((s) => s.sku);
  const file = o.config.waitingRoom.tokenSecretFile;
  if (!file) {
    if (scheduled.length)
      throw new Error(
        `${scheduled.join(", ")} open at a scheduled time, so buyers queue in the waiting room, whose tokens are signed with a secret every region shares: set waitingRoom.tokenSecretFile (or --queue-secret-file)`,
      );
    return undefined;
  }
  const tokens = new QueueTokens(readQueueSecret(file), () => o.clock.now());
  // The stores' drivers (ioredis, pg) load only for a waiting room: an escrow without one starts without them.
  const { MemoryQueueStore, PostgresQueueStore, RedisQueueStore } = await import("./flashsale/queue-store.js");
  const queue: QueueStore = o.redisUrl
    ? new RedisQueueStore(o.redisUrl, o.redisPrefix, { commandTimeoutMs: o.redisCommandTimeoutMs })
    : o.postgresUrl
      ? new PostgresQueueStore(o.postgresUrl, o.schema, { queryTimeoutMs: o.postgresQueryTimeoutMs })
      : new MemoryQueueStore();
  return new GlobalWaitingRoom(o.config, queue, tokens, o.clock);
}

/**
 * The escrow config file (runtime/escrow/config.ts, what the blueprint renders) plus the store locations,
 * which are secrets and come from flags (`--postgres`, `--redis`, …) merged over the file; the kit's own
 * keys are under `server`.
 */
const escrowServeConfigSchema = escrowConfigSchema
  .extend({
    /** Redis for the hot path; only together with PostgreSQL. */
    redis: z
      .string()
      .regex(/^rediss?:\/\//, "expected redis://host:port/db")
      .optional(),
    /** PostgreSQL: the authoritative ledger (alone), or the journal behind Redis. */
    postgres: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "expected postgres://user@host:port/db")
      .optional(),
    /** SQL schema of the store's tables (default meridian_escrow / meridian_escrow_journal). */
    storeSchema: z.string().min(1).optional(),
    /** Redis key prefix (default mes:). */
    redisPrefix: z.string().min(1).optional(),
    /**
     * Start although PostgreSQL streams to asynchronous standbys and to no synchronous one — a failover to one loses
     * what it had not received: with PostgreSQL alone acknowledged sales, and with or without Redis the HTLC ledger's
     * locks, claims and refunds (README: guarantees).
     */
    acceptAsyncStandbys: z.boolean().default(false),
    /**
     * Longest wait for one PostgreSQL query's answer, ms (the store or journal, the HTLC ledger, the waiting room): a
     * server that stops answering without closing the connection fails the call then (503), not never. Absent: 10 s.
     */
    postgresQueryTimeoutMs: z.number().int().min(100).max(120_000).optional(),
    /** Longest wait for one Redis command's reply, ms (the store, the waiting room). Absent: 5 s. */
    redisCommandTimeoutMs: z.number().int().min(100).max(120_000).optional(),
    /** Base URL of the verifiable map service balances are published to (map-publisher.ts); absent: not published. */
    map: z.url().optional(),
    /** The map's name there, and how long one publish call may take before it counts as an outage (ms). */
    mapName: z.string().min(1).default("escrow"),
    mapTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
    /** A file holding a bearer token for the map's writes, read at each write; absent: the mesh identity. */
    mapTokenFile: z.string().min(1).optional(),
    /**
     * The Ed25519 note signer key file of the state-transition log (transition-log.ts); absent: a key made at start.
     * The log's origin is meridian-escrow/<regions>/<id> — the id kept in PostgreSQL with the log when the escrow has it
     * and this file is set (a restart continues the log under this key), else each incarnation's own: the key signs under that name (its name in the file is
     * not used), and its verifier key is served with each checkpoint.
     */
    transitionsKeyFile: z.string().min(1).optional(),
    /** The transition log's memory bounds: it is sealed (stops recording, says so) past either (transition-log.ts). */
    transitionsMaxEntries: z.number().int().min(1).default(TRANSITION_LOG_LIMITS.maxEntries),
    transitionsMaxBacklog: z.number().int().min(1).default(TRANSITION_LOG_LIMITS.maxBacklog),
    /** Where the transition log runs: a worker thread (default; another core than the sales') or the service's own (transport/transitions-open.ts). */
    transitionsThread: z.enum(["worker", "main"]).default("worker"),
  })
  .refine((c) => !(c.redis && !c.postgres), {
    message: "Redis needs PostgreSQL behind it (postgres): Redis alone loses acknowledged sales when it restarts empty, is restored from a snapshot or fails over",
    path: ["redis"],
  });
type EscrowServeConfig = z.output<typeof escrowServeConfigSchema>;

interface EscrowParts extends ServiceParts {
  service: EscrowService;
  store: EscrowStore;
  /** The HTLC ledger (atomic swaps): in PostgreSQL next to the store's tables when there is one, else in this process. */
  htlc: HtlcLedger;
  node: ClockNode;
  /** Publishes balances to the verifiable map, when `map` is set. */
  publisher?: EscrowMapPublisher;
}

/** The escrow service's kit definition; an in-process caller may share its store, clock node and forwarder. */
export function defineEscrowService(extra: EscrowInProcess = {}) {
  return defineService({
    name: "escrow",
    config: escrowServeConfigSchema,
    // Probed before start (unreachable: one line, exit 1) and on every /readyz. A caller's own store is the caller's to watch.
    stores: (c) =>
      extra.store
        ? {}
        : {
            postgres: c.postgres ? { kind: "postgres", url: c.postgres } : undefined,
            redis: c.redis ? { kind: "redis", url: c.redis } : undefined,
          },
    // The kit verifies buyers' (and admins') bearer tokens against the issuer the config's `identity` names.
    jwt: (c) => buyerJwtConfig(c.identity),
    async start({ config: c, clock, log, metrics }) {
      const {
        redis,
        postgres,
        storeSchema,
        redisPrefix,
        acceptAsyncStandbys,
        postgresQueryTimeoutMs,
        redisCommandTimeoutMs,
        map,
        mapName,
        mapTimeoutMs,
        mapTokenFile,
        transitionsKeyFile,
        transitionsMaxEntries,
        transitionsMaxBacklog,
        transitionsThread,
        ...rest
      } = c;
      const cfg: EscrowConfig = rest;
      const urls: EscrowStoreOptions = { redisUrl: redis, postgresUrl: postgres, schema: storeSchema, redisPrefix, acceptAsyncStandbys, postgresQueryTimeoutMs, redisCommandTimeoutMs };
      const room = await openWaitingRoom({ ...urls, config: cfg, clock });
      let store: EscrowStore | undefined;
      let htlc: HtlcLedger | undefined;
      let standbys: StandbyCheck | null = null;
      let served: TransitionLogReader | undefined;
      try {
        store = extra.store ?? (await openEscrowStore(urls));
        const ledger = (htlc = await openHtlcLedger(extra.store ? {} : urls));
        standbys = extra.store ? null : await standbyCheck(urls, store);
        if (standbys) watchStandbys(standbys, metrics, log);
        const node = extra.clockNode ?? new ClockNode({ clock, maxOffsetMs: cfg.maxOffsetMs, requireEpoch: hlcRequireEpochFromEnv(), metrics: new TimeMetrics(metrics) });
        // A caller's node is measured by the caller (the local estate's region clocks); ours by the config's reference.
        const onError = extra.onTimeReferenceError ?? ((e: Error) => log.warn({ err: e.message }, "time reference unreachable"));
        const sync = extra.clockNode || !cfg.timeReference ? null : referenceSync(node, cfg.timeReference, clock, onError);
        const mapClient = map ? new MapClient(map, { fetch: withBearerFile(fetchWithTimeout(mapTimeoutMs), mapTokenFile) }) : undefined;
        const opened = await openTransitionLog({
          clock,
          regions: cfg.regions,
          keyFile: transitionsKeyFile,
          maxEntries: transitionsMaxEntries,
          maxBacklog: transitionsMaxBacklog,
          thread: transitionsThread,
          postgres: postgres ? { url: postgres, schema: storeSchema ?? (redis ? "meridian_escrow_journal" : "meridian_escrow"), queryTimeoutMs: postgresQueryTimeoutMs } : undefined,
          map: mapClient && { client: mapClient, name: mapName, metrics },
          warn: (err, what) => log.warn({ err: err.message, map }, what),
        });
        served = opened.served;
        const anchor = opened.anchor;
        const service = new EscrowService({
          transitions: opened.sink,
          config: cfg,
          store,
          room,
          clock,
          strongRefusal: () => node.strongRefusal(),
          // Per-user request rate: the rate limiter's embedded GCRA (redis-cell semantics).
          limiter: createGcraLimiter({ ratePerSecond: cfg.admission.userRatePerSecond, burst: cfg.admission.userBurst }),
          onChange: () => publisher?.poke(),
        });
        const publisher = mapClient
          ? new EscrowMapPublisher({
              client: mapClient,
              map: mapName,
              regions: cfg.regions,
              skus: cfg.skus.map((s) => s.sku),
              inventory: (sku) => service.inventory(sku),
              onError: (err) => log.warn({ err: err.message, map }, "verifiable map unavailable: escrow balances not yet published (sales are unaffected; retrying)"),
              metrics,
            })
          : undefined;
        const conflicts: string[] = [];
        await service.createConfigured((sku) => (extra.onConflict ? extra.onConflict(sku) : conflicts.push(sku)));
        // Measure once before serving, so the first commit is judged by a real offset (an unreachable
        // reference costs its timeout here, and the skew monitor's sync-loss state judges the node from then on).
        await sync?.pollOnce();
        return {
          service,
          store,
          node,
          htlc: ledger,
          publisher,
          // Each route's rule (buyers, admins, the mesh `callers`) is checked by the kit before its handler.
          routes: (app: FastifyInstance) => {
            installEscrowRoutes(app, service, { forward: extra.forward, htlc: { ledger, clock, strongRefusal: () => node.strongRefusal() } });
            installTransitionRoutes(app, served!);
          },
          // HLC propagation: every request's x-meridian-hlc forwards this service's clock (400 malformed, 409
          // beyond max offset), and every answer carries it back, so causality follows a purchase across regions;
          // a successful write carries a consistency token (the HLC after it, with its epoch), and a request's token
          // from an older HLC epoch is answered 409 "hlc reset" (runtime/clock/http.ts).
          ...hlcParts(node),
          // Not ready while commits would be refused (frozen skew, ε beyond its bound, a clock jump): the
          // balancer sends buyers to a region whose clock can sell, as `time serve` reports its own.
          ready: { clock: () => node.strongRefusal() ?? true },
          started() {
            for (const sku of conflicts) log.warn({ sku }, `${sku} already exists in the store with a different total; keeping the store's`);
            log.info({ regions: cfg.regions, store: service.store.kind }, "escrow serving");
            service.start();
            served!.start(cfg.rebalanceIntervalSeconds * 1000, () => anchor?.poke());
            anchor?.poke();
            sync?.start();
            publisher?.poke();
          },
          async close() {
            sync?.stop();
            await publisher?.close();
            await service.close();
            await anchor?.close();
            await served!.close();
            await ledger.close();
            await standbys?.close();
          },
        };
      } catch (err) {
        await store?.close().catch(() => undefined);
        await htlc?.close().catch(() => undefined);
        await standbys?.close().catch(() => undefined);
        await served?.close().catch(() => undefined);
        await room?.close().catch(() => undefined);
        throw err;
      }
    },
  });
}

/** One escrow server in-process (`meridian local`, tests): the kit's service with this config, store and clock. */
export async function startEscrowServer(o: EscrowServerOptions): Promise<EscrowServer> {
  // The caller's config is already parsed; the kit parses it again, so its time reference goes back to host:port.
  const tr = o.config.timeReference;
  const hostPort = (a: { host: string; port: number }) => `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  const raw = {
    ...o.config,
    timeReference: tr && {
      grandmaster: tr.grandmaster && hostPort(tr.grandmaster),
      chrony: tr.chrony && hostPort(tr.chrony),
      agent: tr.agent && hostPort(tr.agent),
      syncIntervalMs: tr.syncIntervalMs,
    },
    redis: o.redisUrl,
    postgres: o.postgresUrl,
    storeSchema: o.schema,
    redisPrefix: o.redisPrefix,
    acceptAsyncStandbys: o.acceptAsyncStandbys,
    postgresQueryTimeoutMs: o.postgresQueryTimeoutMs,
    redisCommandTimeoutMs: o.redisCommandTimeoutMs,
    ...(o.map ? { map: o.map.url, mapName: o.map.name, mapTokenFile: o.map.tokenFile } : {}),
    server: { port: o.port, ...(o.host ? { host: o.host } : {}) },
  };
  const running = await startService(defineEscrowService(o), JSON.parse(JSON.stringify(raw)) as Record<string, unknown>, { clock: o.clock, processMetrics: false });
  return { app: running.app, service: running.parts.service, store: running.parts.store, url: running.url, running, close: running.close };
}
