/**
 * A hung HTLC ledger (#17, "a hung peer"): the private PostgreSQL the ledger lives in (every process of it) stopped with
 * SIGSTOP — connections stay open, nothing is answered. A lock sent meanwhile must fail after the configured wait
 * (`queryTimeoutMs`; serve's `postgresQueryTimeoutMs`), answered 503 naming the wait, not left waiting for ever; after
 * SIGCONT its retry settles it once (a lock is idempotent). Through the service, the same stop answers the store's commit
 * and the waiting room's queue 503 within the configured wait too (serve.ts passes it to every PostgreSQL client).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startEscrowServer } from "../../../../runtime/escrow/index.js";
import { PostgresHtlcLedger } from "../../../../runtime/escrow/htlc/postgres.js";
import { newSecret } from "../../../../runtime/escrow/htlc/swap.js";
import { as, testConfig } from "../fixture.js";
import { privatePostgresForFile } from "../faults/private-postgres.js";

const WAIT_MS = 500;
/** Well under the stores' defaults (10 s): an answer later than this did not come from the configured wait. */
const BOUND_MS = 4_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How a call ended within BOUND_MS: its value, its error's message, or "hung". */
async function within<T>(call: Promise<T>): Promise<{ ms: number; out: T | string }> {
  const t0 = Date.now();
  const out = await Promise.race([call.catch((e: Error) => `error: ${e.message}`), sleep(BOUND_MS).then(() => "hung")]);
  return { ms: Date.now() - t0, out };
}

const pg = privatePostgresForFile("hung_htlc");
const dir = mkdtempSync(join(tmpdir(), "escrow-hung-htlc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Stop the primary for `fn`, and resume it whatever happens. */
async function stopped<T>(fn: () => Promise<T>): Promise<T> {
  pg.pgp.primary.signal("SIGSTOP");
  try {
    return await fn();
  } finally {
    pg.pgp.primary.signal("SIGCONT");
  }
}

describe("HTLC ledger on a stopped PostgreSQL", () => {
  it("a lock fails after queryTimeoutMs naming the wait, and its retry after SIGCONT locks once", async () => {
    const ledger = new PostgresHtlcLedger({ url: pg.pgp.url("escrow"), schema: "htlc_hung", queryTimeoutMs: WAIT_MS });
    try {
      await ledger.mint("gold", "alice", 10);
      const req = { id: "hung-1", asset: "gold", owner: "alice", recipient: "bob", qty: 3, hashlock: newSecret().hashlock, timelockMs: Date.now() + 3_600_000 };
      // The second call connects anew (the first's connection was dropped) to a server that never answers the startup:
      // that wait counts against the same bound (common/pg-tx.ts openPool).
      const [r, next] = await stopped(async () => [await within(ledger.lock(req, Date.now())), await within(ledger.get("hung-1"))]);
      expect(r!.out).toMatch(/^error: .*PostgreSQL did not answer within 500 ms/);
      expect(next!.out).toMatch(/^error: .*PostgreSQL did not (answer|accept a connection) within 500 ms/);
      const again = await ledger.lock(req, Date.now());
      expect(again.ok).toBe(true);
      expect(await ledger.totals("gold")).toEqual({ asset: "gold", supply: 10, available: 7, locked: 3 });
    } finally {
      await ledger.close();
    }
  }, 30_000);

  it("close() ends while the server is stopped, a call in flight refused", async () => {
    const ledger = new PostgresHtlcLedger({ url: pg.pgp.url("escrow"), schema: "htlc_hung_close", queryTimeoutMs: WAIT_MS });
    await ledger.mint("gold", "carol", 1);
    const [closed, call] = await stopped(async () => {
      const inFlight = within(ledger.get("nothing"));
      await sleep(50);
      return [await within(ledger.close().then(() => "closed")), await inFlight];
    });
    expect(closed!.out).toBe("closed");
    expect(call!.out).toMatch(/^error: /);
  }, 30_000);

  it("through the service (postgresQueryTimeoutMs): the HTLC lock, the store's commit and the queue answer 503 within the wait", async () => {
    const secretFile = join(dir, "queue.secret");
    writeFileSync(secretFile, randomBytes(32).toString("hex"));
    const config = await testConfig(["eu"], {
      skus: [
        { sku: "plain", total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 2, reorderPoints: { eu: 1 } } },
        { sku: "drop", total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 2, reorderPoints: { eu: 1 } }, opensAt: new Date(Date.now() + 3_600_000).toISOString() },
      ],
      waitingRoom: { tokenSecretFile: secretFile },
    });
    const server = await startEscrowServer({ config, port: 0, postgresUrl: pg.pgp.url("escrow"), schema: "htlc_hung_svc", acceptAsyncStandbys: true, postgresQueryTimeoutMs: WAIT_MS });
    const post = async (path: string, who: string, body?: unknown, admin = false) => {
      const res = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { ...(await as(who, "eu", { admin })), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { detail?: string; reservationId?: string } };
    };
    const reserve = async (who: string) => (await post("/v1/inventory/plain/reservations", who, { qty: 1 })).body.reservationId!;
    try {
      // Every pool has a connection open before the stop (a new one would wait connectionTimeoutMillis, 5 s, instead).
      expect((await post("/v1/htlc/assets/gold/mint", "ops", { owner: "alice", qty: 10 }, true)).status).toBe(200);
      expect((await post(`/v1/reservations/${await reserve("warm")}/commit`, "warm")).status).toBe(200);
      expect((await post("/v1/inventory/drop/queue", "warm")).status).toBe(200);
      const probe = await reserve("probe");
      const lock = { asset: "gold", recipient: "bob", qty: 3, hashlock: newSecret().hashlock, timelockMs: Date.now() + 3_600_000 };
      const [htlc, commit, queue] = await stopped(() =>
        Promise.all([within(post("/v1/htlc/locks", "alice", lock)), within(post(`/v1/reservations/${probe}/commit`, "probe")), within(post("/v1/inventory/drop/queue", "carol"))]),
      );
      expect(htlc.out).toMatchObject({ status: 503, body: { detail: expect.stringMatching(/^htlc ledger: PostgreSQL did not answer within 500 ms/) as unknown } });
      expect(commit.out).toMatchObject({ status: 503 });
      expect(queue.out).toMatchObject({ status: 503, body: { detail: expect.stringMatching(/waiting room: PostgreSQL did not answer within 500 ms/) as unknown } });
      // Resumed: the lock's retry locks (once), the commit's retry sells.
      expect((await post("/v1/htlc/locks", "alice", lock)).status).toBe(201);
      expect([200]).toContain((await post(`/v1/reservations/${probe}/commit`, "probe")).status);
    } finally {
      await server.close();
    }
  }, 60_000);
});
