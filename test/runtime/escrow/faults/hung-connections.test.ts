/**
 * The escrow stores' connections to a hung server (#17): the private PostgreSQL or redis-server SIGSTOPped — connections
 * stay open, new ones are accepted by the kernel and never answered — at the store's own API, below the service.
 *
 * - A write that needs a new connection (the connection of a timed-out query is not reused) is answered within its
 *   query timeout, the wait for the connection included: node-postgres's connect wait (connectionTimeoutMillis, 5 s)
 *   came on top of the query timeout, so each write after the first timed-out one took 5 s, not queryTimeoutMs.
 *   Checked as: two writes one after the other are both answered (refused) before the stop ends — well within 5 s of
 *   connect wait, and several query timeouts.
 * - close() finishes while the server is stopped (a SIGTERM drain must end): connections that do not answer are
 *   destroyed, none is left open.
 */
import { describe, expect, it } from "vitest";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import { PostgresEscrowStore } from "../../../../runtime/escrow/store/postgres.js";
import type { AcquireRequest, EscrowStore, Fence } from "../../../../runtime/escrow/store/port.js";
import { PG_URL, REDIS_URL, uniqueName } from "../servers.js";
import { privateRedisForFile } from "./private-redis.js";
import { privatePostgresForFile } from "./private-postgres.js";

/** The stores' bounded waits here (query and command timeouts): short, so a stop outlasts several of them. */
const WAIT_MS = 1_000;
/** How long the server stays stopped while writes are sent one after another: 4 query timeouts, under one connect wait (5 s). */
const STOP_MS = 4_000;
/** A hang detector, not a latency bound: close() not finished by then waits for the server to come back. */
const HUNG_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fx = privateRedisForFile("faults_hung_conn");
const pgFx = privatePostgresForFile("hungconn");
const { prefix } = pgFx;

type Store = EscrowStore & { migrate(): Promise<void> };
const journalOnPrivatePg = (): JournaledEscrowStore =>
  new JournaledEscrowStore({ redisUrl: REDIS_URL, prefix, postgresUrl: pgFx.pgp.url("escrow"), schema: "escrow_hung_conn", redisCommandTimeoutMs: WAIT_MS, queryTimeoutMs: WAIT_MS });
const postgresOnPrivatePg = (): PostgresEscrowStore => new PostgresEscrowStore({ url: pgFx.pgp.url("escrow"), schema: "escrow_hung_conn_pg", queryTimeoutMs: WAIT_MS });
const pgStop = (sig: "SIGSTOP" | "SIGCONT") => pgFx.pgp.primary.signal(sig);

const acquire = (sku: string): AcquireRequest => ({ sku, region: "a", want: 50, nowMs: Date.now(), leaseTtlMs: 600_000, fresh: true, reserved: 0, rate: 0, borrow: 0 });

/** An item with a lease of region a (its fence), and one sale sold: the store holds an idle connection. */
async function selling(store: Store, sku: string): Promise<Fence> {
  await store.migrate();
  expect(await store.createItem(sku, 100, { a: 50 }, Date.now())).toBe("created");
  const r = (await store.acquire(acquire(sku)))!;
  const fence = { generation: r.generation, epoch: r.lease.epoch };
  expect(await sell(store, sku, fence, "warm")).toEqual(["sold"]);
  return fence;
}

const sell = (store: EscrowStore, sku: string, fence: Fence, saleId: string) => store.recordSales(sku, "a", fence, [{ saleId, qty: 1, user: "u" }], Date.now(), 0);

/** Settles with how the promise ended, or "hung" after ms. */
function outcome(p: Promise<unknown>, ms = HUNG_MS): Promise<"resolved" | "rejected" | "hung"> {
  return Promise.race([
    p.then(
      () => "resolved" as const,
      () => "rejected" as const,
    ),
    sleep(ms).then(() => "hung" as const),
  ]);
}

/** The proxy's open sockets (each connection of the store, and its leg to the server): 0 once every connection is closed. */
const proxySockets = () => (pgFx.pgp.proxy as unknown as { sockets: Set<unknown> }).sockets.size;

describe("a write while the PostgreSQL it needs is stopped", () => {
  for (const [name, open] of [
    ["the journal of the Redis store", journalOnPrivatePg],
    ["the PostgreSQL-only store", postgresOnPrivatePg],
  ] as const) {
    it(`${name}: each is answered within its query timeout, a new connection's wait included`, async () => {
      const store = open();
      const sku = uniqueName("conn");
      const fence = await selling(store, sku);
      pgStop("SIGSTOP");
      let stopped = true;
      const resumed = sleep(STOP_MS).then(() => {
        stopped = false;
        pgStop("SIGCONT");
      });
      try {
        // The first takes the idle connection and times out; its connection is dropped, so the second connects anew.
        const answers: string[] = [];
        for (const id of ["s1", "s2"]) {
          const o = await outcome(sell(store, sku, fence, id));
          answers.push(`${o}${stopped ? "" : " after the stop"}`);
        }
        expect(answers).toEqual(["rejected", "rejected"]);
      } finally {
        await resumed;
      }
      // Back: writes succeed again (the unanswered ones may have sold or not; the store dedupes a retry by sale id).
      expect(await sell(store, sku, fence, "s3")).toEqual(["sold"]);
      await store.close();
    }, 60_000);
  }
});

describe("close() while a server the store uses is stopped", () => {
  async function closeWhileStopped(store: Store, signal: (sig: "SIGSTOP" | "SIGCONT") => void, sockets?: () => number): Promise<void> {
    const sku = uniqueName("close");
    const fence = await selling(store, sku);
    signal("SIGSTOP");
    try {
      const inFlight = outcome(sell(store, sku, fence, "drained"));
      await sleep(100);
      expect(await outcome(store.close()), "close() did not finish while the server was stopped").toBe("resolved");
      expect(await inFlight, "the call in flight at close was not answered").toBe("rejected");
      // The proxy sees a destroyed connection close on its next turns of the event loop; a graceful end never, while stopped.
      for (let i = 0; sockets && sockets() > 0 && i < 40; i++) await sleep(50);
      if (sockets) expect(sockets(), "connections left open after close()").toBe(0);
    } finally {
      signal("SIGCONT");
    }
  }

  it("the journaled store, its redis-server stopped", async () => {
    const store = new JournaledEscrowStore({ redisUrl: fx.redis.url, postgresUrl: PG_URL, schema: fx.schema, redisCommandTimeoutMs: WAIT_MS, queryTimeoutMs: WAIT_MS });
    await closeWhileStopped(store, (sig) => fx.redis.signal(sig));
  }, 60_000);

  it("the journaled store, its journal's PostgreSQL stopped", async () => {
    await closeWhileStopped(journalOnPrivatePg(), pgStop, proxySockets);
  }, 60_000);

  it("the PostgreSQL-only store, its PostgreSQL stopped", async () => {
    await closeWhileStopped(postgresOnPrivatePg(), pgStop, proxySockets);
  }, 60_000);
});
