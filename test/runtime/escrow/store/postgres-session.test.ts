// The session settings the escrow's selling connections start with, as PostgreSQL itself reads them from the startup
// packet: commits wait for the WAL flush and the synchronous standby, and a transaction whose client vanished ends
// after 30 s idle (releasing the item's row lock) instead of when TCP keepalive notices.
import { describe, expect, it } from "vitest";
import pg from "pg";
import { SYNC_COMMIT } from "../../../../runtime/escrow/store/postgres.js";
import { PG_URL, ensurePgDatabase } from "../servers.js";

describe("PostgreSQL escrow sessions", () => {
  it("start with synchronous_commit on and a 30 s idle-in-transaction limit, whatever the database's defaults", async () => {
    await ensurePgDatabase();
    const c = new pg.Client({ connectionString: PG_URL, options: SYNC_COMMIT });
    await c.connect();
    try {
      const show = async (name: string) => ((await c.query(`SHOW ${name}`)).rows[0] as Record<string, string>)[name];
      expect(await show("synchronous_commit")).toBe("on");
      expect(await show("idle_in_transaction_session_timeout")).toBe("30s");
    } finally {
      await c.end();
    }
  });
});
