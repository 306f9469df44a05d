/**
 * A connection's last words in the packet that opens it: a server whose postmaster dies just as a backend finishes
 * startup sends ReadyForQuery and then FATAL 57P01 ("terminating connection due to unexpected postmaster exit"), and
 * under load both arrive in one read. node-postgres hands the new client over on ReadyForQuery and parses the FATAL in
 * the same pass, before any `await pool.connect()` can listen; an 'error' with nobody listening crashes the process
 * (seen in CI during the escrow's failover test). Every call must instead fail cleanly with the server's error.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { closePool, inTransaction, openPool } from "../../../runtime/common/pg-tx.js";

/** One backend message: its type byte, then its length (itself included) and body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const fields = (f: Record<string, string>) => Buffer.concat([...Object.entries(f).map(([k, v]) => Buffer.from(`${k}${v}\0`, "utf8")), Buffer.from([0])]);
const LAST_WORDS = Buffer.concat([
  message("R", Buffer.from([0, 0, 0, 0])), // AuthenticationOk
  message("Z", Buffer.from("I")), // ReadyForQuery: node-postgres hands the client over here
  message("E", fields({ S: "FATAL", V: "FATAL", C: "57P01", M: "terminating connection due to unexpected postmaster exit" })),
]);

let dying: Server;
let url: string;
const sockets: Socket[] = [];
beforeAll(async () => {
  // Answers the startup message with all three at once, then closes.
  dying = createServer((s) => {
    sockets.push(s);
    s.once("data", () => s.end(LAST_WORDS));
  });
  await new Promise<void>((r) => dying.listen(0, "127.0.0.1", r));
  url = `postgres://postgres@127.0.0.1:${(dying.address() as { port: number }).port}/test`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => dying.close(r));
});

const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable("the call succeeded"),
    (e: unknown) => e as Error,
  );

describe("a connection that dies in the packet that opens it", () => {
  it("openPool: query and inTransaction fail with an error; nothing is thrown outside them", async () => {
    const pool = openPool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000, query_timeout: 2_000 });
    try {
      for (let i = 0; i < 5; i++) {
        expect((await failure(pool.query("SELECT 1", []))).message).toMatch(/postmaster exit|not queryable|terminated/);
        expect((await failure(inTransaction(pool, (c) => c.query("SELECT 1")))).message).toMatch(/postmaster exit|not queryable|terminated/);
      }
    } finally {
      await closePool(pool, 1_000);
    }
  });

  it("inTransaction on a plain pg.Pool (the quota, mpt, attest and clock stores): fails with an error", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000 });
    pool.on("error", () => undefined);
    try {
      for (let i = 0; i < 5; i++) expect((await failure(inTransaction(pool, (c) => c.query("SELECT 1")))).message).toMatch(/postmaster exit|not queryable|terminated/);
    } finally {
      await pool.end().catch(() => undefined);
    }
  });
});
