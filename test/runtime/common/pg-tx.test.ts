/**
 * pgTimeout (common/pg-tx.ts) names which wait a failed call ran out of, from the errors node-postgres and openPool
 * really raise: a server that took the query and did not answer in time, a server that accepts TCP connections and
 * never answers the startup message (what a SIGSTOPped PostgreSQL's kernel does), and any other failure.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { closePool, openPool, pgTimeout } from "../../../runtime/common/pg-tx.js";

/** The server's own database: there on every PostgreSQL, nothing created in it. */
const PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";
let silent: Server;
let silentUrl: string;
const sockets: Socket[] = [];
beforeAll(async () => {
  silent = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  silentUrl = `postgres://postgres@127.0.0.1:${(silent.address() as { port: number }).port}/test`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable("the call succeeded"),
    (e: unknown) => e,
  );

describe("pgTimeout", () => {
  it("a query the server took and did not answer within query_timeout: answer", async () => {
    const pool = openPool({ connectionString: PG_URL, max: 1, query_timeout: 200 });
    try {
      expect(pgTimeout(await failure(pool.query("SELECT pg_sleep(2)", [])))).toBe("answer");
    } finally {
      await closePool(pool, 3_000);
    }
  });

  it("no connection within the call's deadline (openPool), or pg's connectionTimeoutMillis: connect", async () => {
    const pool = openPool({ connectionString: silentUrl, max: 1, connectionTimeoutMillis: 5_000, query_timeout: 200 });
    const plain = new pg.Pool({ connectionString: silentUrl, max: 1, connectionTimeoutMillis: 200 });
    try {
      expect(pgTimeout(await failure(pool.query("SELECT 1", [])))).toBe("connect");
      expect(pgTimeout(await failure(plain.query("SELECT 1")))).toBe("connect");
      // Every connection of a pool in use: the wait for a slot.
      const busy = new pg.Pool({ connectionString: PG_URL, max: 1, connectionTimeoutMillis: 200 });
      const held = await busy.connect();
      expect(pgTimeout(await failure(busy.query("SELECT 1")))).toBe("connect");
      held.release();
      await busy.end();
    } finally {
      await closePool(pool, 200);
      await plain.end().catch(() => undefined);
    }
  });

  it("any other failure (an SQL error, a refused connection): null", async () => {
    const pool = openPool({ connectionString: PG_URL, max: 1, query_timeout: 2_000 });
    const refused = new pg.Pool({ connectionString: "postgres://postgres@127.0.0.1:1/test", max: 1, connectionTimeoutMillis: 2_000 });
    try {
      expect(pgTimeout(await failure(pool.query("SELEC 1", [])))).toBeNull();
      expect(pgTimeout(await failure(refused.query("SELECT 1")))).toBeNull();
      expect(pgTimeout("Query read timeout")).toBeNull();
    } finally {
      await closePool(pool, 2_000);
      await refused.end().catch(() => undefined);
    }
  });
});
