/**
 * Where the global waiting room keeps every buyer's score, shared by every region's process: Redis (a
 * sorted set per SKU; one Lua call per join or status), PostgreSQL (a table, when there is no Redis), or
 * memory (one process). `enter` is idempotent: joining again keeps the place (no second draw); a buyer
 * presenting a signed queue token (`restore`) gets its score back if the store lost it (Redis restarted
 * empty, a new process on the memory store) — the better of the two, never one the service did not
 * issue them.
 *
 * Every call is bounded as the escrow store's are (store/redis.ts, store/postgres.ts): a Redis or PostgreSQL that stops
 * answering without closing the connection (SIGSTOP, a network blackhole) fails the join after `commandTimeoutMs` /
 * `queryTimeoutMs` (the same defaults) with an error naming the wait, which the route answers 503 — a join is
 * idempotent, so the buyer retries and keeps their place — instead of holding the request for ever.
 */
import { Redis } from "ioredis";
import type pg from "pg";
import { closePool, openPool, pgTimeout } from "../../common/pg-tx.js";
import { PG_QUERY_TIMEOUT_MS } from "../store/postgres.js";
import { REDIS_COMMAND_TIMEOUT_MS } from "../store/redis.js";

/** A timed-out call as an error naming the store and the wait (ioredis: "Command timed out"; pg: common/pg-tx.ts pgTimeout). */
function timedOut(store: "Redis" | "PostgreSQL", ms: number): (err: unknown) => never {
  return (err) => {
    const m = (err as Error).message;
    const wait = m === "Command timed out" ? "answer" : pgTimeout(err);
    if (wait === "answer") throw new Error(`waiting room: ${store} did not answer within ${ms} ms (${m}); joining again keeps the place: retry`, { cause: err });
    if (wait === "connect") throw new Error(`waiting room: ${store} did not accept a connection within ${ms} ms (${m}); joining again keeps the place: retry`, { cause: err });
    throw err;
  };
}

export interface QueueEntry {
  /** The score the store holds for the buyer (the lower of theirs and the one presented). */
  score: number;
  /** 1-based: buyers with a lower score, plus one. */
  position: number;
  size: number;
}

export interface QueueStore {
  /** Add the buyer with `score` unless present; with `restore`, also lower a present score to it. */
  enter(sku: string, user: string, score: number, restore: boolean): Promise<QueueEntry>;
  close(): Promise<void>;
}

export class MemoryQueueStore implements QueueStore {
  private readonly rooms = new Map<string, Map<string, number>>();

  enter(sku: string, user: string, score: number, restore: boolean): Promise<QueueEntry> {
    let room = this.rooms.get(sku);
    if (!room) this.rooms.set(sku, (room = new Map()));
    const had = room.get(user);
    const mine = had === undefined ? score : restore ? Math.min(had, score) : had;
    room.set(user, mine);
    let ahead = 0;
    for (const s of room.values()) if (s < mine) ahead++;
    return Promise.resolve({ score: mine, position: ahead + 1, size: room.size });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const ENTER = `
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2], ARGV[1])
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
return {s, redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. s), redis.call('ZCARD', KEYS[1])}`;

export class RedisQueueStore implements QueueStore {
  private readonly redis: Redis;
  private readonly commandTimeoutMs: number;

  constructor(
    url: string,
    private readonly prefix = "mes:",
    /** Longest wait for one command's reply, ms (default 5 s, as the escrow Redis store's). */
    o: { commandTimeoutMs?: number } = {},
  ) {
    if (!prefix.startsWith("mes:")) throw new Error(`redis prefix: got "${prefix}"; expected one starting with "mes:"`);
    this.commandTimeoutMs = o.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: this.commandTimeoutMs });
    this.redis.on("error", () => undefined);
    this.redis.defineCommand("queueEnter", { numberOfKeys: 1, lua: ENTER });
  }

  async enter(sku: string, user: string, score: number, restore: boolean): Promise<QueueEntry> {
    const [s, ahead, size] = await (this.redis as unknown as { queueEnter(k: string, u: string, s: string, mode: string): Promise<[string, number, number]> })
      .queueEnter(`${this.prefix}queue:{${sku}}`, user, String(score), restore ? "LT" : "NX")
      .catch(timedOut("Redis", this.commandTimeoutMs));
    return { score: Number(s), position: ahead + 1, size };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export class PostgresQueueStore implements QueueStore {
  private readonly pool: pg.Pool;
  private readonly queryTimeoutMs: number;
  private ready: Promise<void> | null = null;

  constructor(
    url: string,
    private readonly schema = "meridian_escrow",
    /** Longest wait for one query's answer, ms (default PG_QUERY_TIMEOUT_MS, as the escrow PostgreSQL store's). */
    o: { queryTimeoutMs?: number } = {},
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.queryTimeoutMs = o.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS;
    // Every call answered within the query timeout, the wait for a connection included (a stopped server's kernel still accepts them).
    this.pool = openPool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000, query_timeout: this.queryTimeoutMs });
  }

  private migrate(): Promise<void> {
    this.ready ??= (async () => {
      await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`).catch((e: { code?: string }) => {
        if (e.code !== "23505" && e.code !== "42P06") throw e;
      });
      await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.schema}.waiting_room (sku text NOT NULL, user_id text NOT NULL, score double precision NOT NULL, PRIMARY KEY (sku, user_id))`);
      await this.pool.query(`CREATE INDEX IF NOT EXISTS waiting_room_order ON ${this.schema}.waiting_room (sku, score)`);
    })().catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  enter(sku: string, user: string, score: number, restore: boolean): Promise<QueueEntry> {
    return this.join(sku, user, score, restore).catch(timedOut("PostgreSQL", this.queryTimeoutMs));
  }

  private async join(sku: string, user: string, score: number, restore: boolean): Promise<QueueEntry> {
    await this.migrate();
    const t = `${this.schema}.waiting_room`;
    const r = await this.pool.query(
      `WITH me AS (INSERT INTO ${t} (sku, user_id, score) VALUES ($1, $2, $3) ON CONFLICT (sku, user_id) DO UPDATE SET score = CASE WHEN $4 THEN LEAST(${t}.score, EXCLUDED.score) ELSE ${t}.score END RETURNING score, (xmax = 0) AS inserted)
       SELECT me.score, me.inserted, (SELECT count(*) FROM ${t} w WHERE w.sku = $1 AND w.score < me.score) AS ahead, (SELECT count(*) FROM ${t} w WHERE w.sku = $1) AS size FROM me`,
      [sku, user, score, restore],
    );
    const x = r.rows[0] as { score: number; inserted: boolean; ahead: string; size: string };
    // The subqueries see the snapshot before the statement's own insert: count a new buyer in.
    return { score: Number(x.score), position: Number(x.ahead) + 1, size: Number(x.size) + (x.inserted ? 1 : 0) };
  }

  /** Within the query timeout whatever the server does (closePool destroys the connections still open then). */
  close(): Promise<void> {
    return closePool(this.pool, this.queryTimeoutMs);
  }
}
