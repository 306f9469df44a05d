/**
 * One escrow server from its config: pick the store (memory; PostgreSQL; Redis journaled to
 * PostgreSQL), build the service for the config's regions, create the configured inventory, install
 * HLC propagation and buyer verification, and listen. `meridian escrow serve` and `meridian local`
 * (once per region process, or once for every region) both start it here.
 */
import type { FastifyInstance } from "fastify";
import { randomInt } from "node:crypto";
import { ClockNode, installHlc, referenceSync } from "../clock/index.js";
import { systemClock, type Clock } from "../common/clock.js";
import { createGcraLimiter } from "../ratelimit/index.js";
import type { EscrowConfig } from "./config.js";
import { EscrowService } from "./service.js";
import type { EscrowStore } from "./store/port.js";
import { buildEscrowApp, type EscrowAppOptions } from "./transport/http.js";
import { BuyerVerifier } from "./transport/identity.js";
import { GlobalWaitingRoom } from "./flashsale/global-room.js";
import { MemoryQueueStore, PostgresQueueStore, RedisQueueStore, type QueueStore } from "./flashsale/queue-store.js";
import { QueueTokens, readQueueSecret } from "./transport/queue-token.js";

export interface EscrowStoreOptions {
  /** Redis for the hot path; only together with PostgreSQL (Redis alone can lose acknowledged sales). */
  redisUrl?: string;
  /** PostgreSQL: the authoritative ledger (alone), or the journal behind Redis. */
  postgresUrl?: string;
  /** Isolation for tests and several estates on one server: the SQL schema and the Redis key prefix ("mes:…"). */
  schema?: string;
  redisPrefix?: string;
}

export interface EscrowServerOptions extends EscrowStoreOptions {
  config: EscrowConfig;
  port: number;
  host?: string;
  clock?: Clock;
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
  forward?: EscrowAppOptions["forward"];
  /** Told when the config's time reference cannot be read (default: a line on stderr). */
  onTimeReferenceError?: (error: Error) => void;
}

export interface EscrowServer {
  app: FastifyInstance;
  service: EscrowService;
  store: EscrowStore;
  url: string;
  close(): Promise<void>;
}

export async function openEscrowStore(o: EscrowStoreOptions): Promise<EscrowStore> {
  if (o.redisUrl && !o.postgresUrl) {
    throw new Error("a Redis store needs PostgreSQL behind it (--postgres): Redis alone loses acknowledged sales when it restarts, is restored from a snapshot or fails over");
  }
  if (o.redisUrl && o.postgresUrl) {
    const { JournaledEscrowStore } = await import("./store/journaled.js");
    const journaled = new JournaledEscrowStore({ redisUrl: o.redisUrl, postgresUrl: o.postgresUrl, schema: o.schema, prefix: o.redisPrefix });
    await journaled.migrate();
    return journaled;
  }
  if (o.postgresUrl) {
    const { PostgresEscrowStore } = await import("./store/postgres.js");
    const store = new PostgresEscrowStore({ url: o.postgresUrl, schema: o.schema });
    await store.migrate();
    return store;
  }
  const { MemoryEscrowStore } = await import("./store/memory.js");
  return new MemoryEscrowStore();
}

/**
 * The global waiting room, when the config has its token secret: queue places live in Redis when there
 * is one (every region shares it), else PostgreSQL, else this process. A scheduled SKU without a
 * secret is refused: its buyers could never get a pass.
 */
export function openWaitingRoom(o: EscrowStoreOptions & { config: EscrowConfig; clock: Clock }): GlobalWaitingRoom | undefined {
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
  const queue: QueueStore = o.redisUrl ? new RedisQueueStore(o.redisUrl, o.redisPrefix) : o.postgresUrl ? new PostgresQueueStore(o.postgresUrl, o.schema) : new MemoryQueueStore();
  return new GlobalWaitingRoom(o.config, queue, tokens, o.clock, () => randomInt(0, 2 ** 47) / 2 ** 47);
}

export async function startEscrowServer(o: EscrowServerOptions): Promise<EscrowServer> {
  const cfg = o.config;
  const clock = o.clock ?? systemClock;
  const room = openWaitingRoom({ ...o, clock });
  const store = o.store ?? (await openEscrowStore(o));
  const node = o.clockNode ?? new ClockNode({ clock, maxOffsetMs: cfg.maxOffsetMs });
  // A caller's node is measured by the caller (the local estate's region clocks); ours by the config's reference.
  const onError = o.onTimeReferenceError ?? ((e: Error) => process.stderr.write(`escrow: time reference: ${e.message}\n`));
  const sync = o.clockNode || !cfg.timeReference ? null : referenceSync(node, cfg.timeReference, clock, onError);
  try {
    const service = new EscrowService({
      config: cfg,
      store,
      room,
      clock,
      strongRefusal: () => node.strongRefusal(),
      // Per-user request rate: the rate limiter's embedded GCRA (redis-cell semantics).
      limiter: createGcraLimiter({ ratePerSecond: cfg.admission.userRatePerSecond, burst: cfg.admission.userBurst }),
    });
    await service.createConfigured(o.onConflict);
    const app = buildEscrowApp(service, new BuyerVerifier(cfg.identity, cfg.tiers, () => clock.now()), { forward: o.forward });
    // HLC propagation: every request's x-meridian-hlc forwards this service's clock (400 malformed, 409
    // beyond max offset), and every answer carries it back, so causality follows a purchase across regions;
    // a successful write carries a consistency token (the HLC after it, with its epoch), and a request's token
    // from an older HLC epoch is answered 409 "hlc reset" (runtime/clock/http.ts).
    installHlc(app, node, { consistencyTokens: true });
    // Measure once before serving, so the first commit is judged by a real offset (an unreachable
    // reference costs its timeout here, and the skew monitor's sync-loss state judges the node from then on).
    await sync?.pollOnce();
    const url = await app.listen({ port: o.port, host: o.host ?? "127.0.0.1" });
    service.start();
    sync?.start();
    return {
      app,
      service,
      store,
      url,
      close: async () => {
        sync?.stop();
        await app.close();
        await service.close();
      },
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    await room?.close().catch(() => undefined);
    throw err;
  }
}
