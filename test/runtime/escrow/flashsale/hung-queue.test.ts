/**
 * A hung waiting-room store (#17, "a hung peer"): the private redis-server, then the private PostgreSQL holding the
 * queue, stopped with SIGSTOP — connections stay open, nothing is answered. A join sent meanwhile must fail after the
 * configured wait (`commandTimeoutMs` / `queryTimeoutMs`; serve's `redisCommandTimeoutMs` / `postgresQueryTimeoutMs`),
 * naming it, not wait for ever; after SIGCONT the buyer's place is as before. Through the service on Redis + the
 * PostgreSQL journal, a Redis stop answers the queue and the store's commit 503 within the configured wait.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startEscrowServer } from "../../../../runtime/escrow/index.js";
import { PostgresQueueStore, RedisQueueStore, type QueueStore } from "../../../../runtime/escrow/flashsale/queue-store.js";
import { as, testConfig } from "../fixture.js";
import { PG_URL } from "../servers.js";
import { privateRedisForFile } from "../faults/private-redis.js";
import { privatePostgresForFile } from "../faults/private-postgres.js";

const WAIT_MS = 500;
/** Well under the stores' defaults (5 s Redis, 10 s PostgreSQL): a later answer did not come from the configured wait. */
const BOUND_MS = 3_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function within<T>(call: Promise<T>): Promise<T | string> {
  return Promise.race([call.catch((e: Error) => `error: ${e.message}`), sleep(BOUND_MS).then(() => "hung")]);
}

const fx = privateRedisForFile("flashsale_hung");
const pg = privatePostgresForFile("hungq");
const prefix = pg.prefix;
const dir = mkdtempSync(join(tmpdir(), "escrow-hung-queue-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function hungJoin(store: QueueStore, signal: (sig: "SIGSTOP" | "SIGCONT") => void, what: string): Promise<void> {
  const first = await store.enter("drop", "alice", 5, false);
  expect(first).toMatchObject({ position: 1, size: 1 });
  signal("SIGSTOP");
  let out: unknown, again: unknown;
  try {
    out = await within(store.enter("drop", "bob", 7, false));
    // The next join after a timed-out one: its connection was dropped, and a new one to a stopped server is never
    // answered either — that wait counts against the same bound (common/pg-tx.ts openPool).
    again = await within(store.enter("drop", "carol", 8, false));
  } finally {
    signal("SIGCONT");
  }
  expect(out).toMatch(new RegExp(`^error: waiting room: ${what} did not answer within 500 ms`));
  expect(again).toMatch(new RegExp(`^error: waiting room: ${what} did not (answer|accept a connection) within 500 ms`));
  // Resumed: alice's place is hers, bob joins behind her.
  expect(await store.enter("drop", "alice", 9, false)).toMatchObject({ score: 5, position: 1 });
  expect(await store.enter("drop", "bob", 7, false)).toMatchObject({ score: 7, position: 2 });
}

/** close() while the server is stopped, with a join in flight: it ends (a SIGTERM drain must), the join is refused. */
async function hungClose(store: QueueStore, signal: (sig: "SIGSTOP" | "SIGCONT") => void): Promise<void> {
  await store.enter("drop", "dave", 3, false);
  signal("SIGSTOP");
  try {
    const join = within(store.enter("drop", "erin", 4, false));
    await sleep(50);
    expect(await within(store.close().then(() => "closed"))).toBe("closed");
    expect(await join).toMatch(/^error: /);
  } finally {
    signal("SIGCONT");
  }
}

describe("waiting-room stores on a stopped server", () => {
  it("Redis: a join fails after commandTimeoutMs naming the wait; the places stand after SIGCONT", async () => {
    const store = new RedisQueueStore(fx.redis.url, `${prefix}r:`, { commandTimeoutMs: WAIT_MS });
    try {
      await hungJoin(store, (sig) => fx.redis.signal(sig), "Redis");
    } finally {
      await store.close();
    }
  }, 30_000);

  it("PostgreSQL: a join fails after queryTimeoutMs naming the wait; the places stand after SIGCONT", async () => {
    const store = new PostgresQueueStore(pg.pgp.url("escrow"), "queue_hung", { queryTimeoutMs: WAIT_MS });
    try {
      await hungJoin(store, (sig) => pg.pgp.primary.signal(sig), "PostgreSQL");
    } finally {
      await store.close();
    }
  }, 30_000);

  it("close() ends while the server is stopped, Redis and PostgreSQL", async () => {
    await hungClose(new RedisQueueStore(fx.redis.url, `${prefix}c:`, { commandTimeoutMs: WAIT_MS }), (sig) => fx.redis.signal(sig));
    await hungClose(new PostgresQueueStore(pg.pgp.url("escrow"), "queue_hung_close", { queryTimeoutMs: WAIT_MS }), (sig) => pg.pgp.primary.signal(sig));
  }, 30_000);

  it("through the service on Redis + journal (redisCommandTimeoutMs): the queue and the store's commit answer 503 within the wait", async () => {
    const secretFile = join(dir, "queue.secret");
    writeFileSync(secretFile, randomBytes(32).toString("hex"));
    const config = await testConfig(["eu"], {
      skus: [
        { sku: "plain", total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 2, reorderPoints: { eu: 1 } } },
        { sku: "drop", total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 2, reorderPoints: { eu: 1 } }, opensAt: new Date(Date.now() + 3_600_000).toISOString() },
      ],
      waitingRoom: { tokenSecretFile: secretFile },
    });
    const server = await startEscrowServer({ config, port: 0, redisUrl: fx.redis.url, postgresUrl: PG_URL, schema: fx.schema, redisPrefix: `${prefix}s:`, redisCommandTimeoutMs: WAIT_MS });
    const post = async (path: string, who: string, body?: unknown) => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { ...(await as(who, "eu")), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { detail?: string; reservationId?: string } };
    };
    try {
      expect((await post("/v1/inventory/drop/queue", "alice")).status).toBe(200);
      const probe = (await post("/v1/inventory/plain/reservations", "probe", { qty: 1 })).body.reservationId!;
      fx.redis.signal("SIGSTOP");
      let queue: unknown, commit: unknown;
      try {
        [queue, commit] = await Promise.all([within(post("/v1/inventory/drop/queue", "carol")), within(post(`/v1/reservations/${probe}/commit`, "probe"))]);
      } finally {
        fx.redis.signal("SIGCONT");
      }
      expect(queue).toMatchObject({ status: 503, body: { detail: expect.stringMatching(/waiting room: Redis did not answer within 500 ms/) as unknown } });
      expect(commit).toMatchObject({ status: 503 });
      expect((await post("/v1/inventory/drop/queue", "carol")).status).toBe(200);
    } finally {
      await server.close();
    }
  }, 60_000);
});
