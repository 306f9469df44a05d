import pg from "pg";
import { describe, expect, it } from "vitest";
import { endLockSession } from "../../../runtime/common/pg-lock.js";

const URL = "postgres://postgres@127.0.0.1:5432/postgres";
const KEY = `meridian-test-pg-lock-${process.pid}`;

async function session(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  return c;
}
const tryLock = async (c: pg.Client) => (await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [KEY])).rows[0]!.ok;

describe("ending a session that holds an advisory lock", () => {
  it("a successor that asks right after the holder's clean close gets the lock, every time", async () => {
    const successor = await session();
    try {
      for (let i = 0; i < 30; i++) {
        const holder = await session();
        expect(await tryLock(holder)).toBe(true);
        expect(await tryLock(successor)).toBe(false); // held: the fence works
        await endLockSession(holder);
        expect(await tryLock(successor), `round ${i}`).toBe(true);
        await successor.query("SELECT pg_advisory_unlock_all()");
      }
    } finally {
      await successor.end();
    }
  });

  it("tolerates no session and one already ended", async () => {
    await endLockSession(undefined);
    const c = await session();
    await c.end();
    await expect(endLockSession(c)).resolves.toBeUndefined();
  });
});
