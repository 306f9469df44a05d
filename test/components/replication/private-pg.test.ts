// The private PostgreSQL servers the replication tests start (private-pg.ts): a port another process takes between
// asking for it and the server's bind costs one more attempt, not the test run.
import { createServer } from "node:net";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { expect, it } from "vitest";
import { freePort } from "../../ports.js";
import { PrivatePg, pgRoot, removeRoot, testCa } from "./private-pg.js";

it("a port taken before the server binds it: the server starts on the next one, and names its log when it cannot start", async () => {
  const held = createServer();
  const taken = await new Promise<number>((r) => held.listen(0, "127.0.0.1", () => r((held.address() as { port: number }).port)));
  const root = pgRoot();
  try {
    const caDir = join(root, "ca");
    mkdirSync(caDir);
    const ca = testCa(caDir);
    const asked: number[] = [];
    const pg = await PrivatePg.start(root, "a", ca, "pw", undefined, async () => (asked.push(asked.length === 0 ? taken : await freePort()), asked.at(-1)!));
    try {
      expect(asked).toHaveLength(2);
      expect(pg.port).toBe(asked[1]);
      expect((await pg.sql("postgres", "select 1 as x")).rows[0]).toEqual({ x: 1 });
    } finally {
      pg.stop();
    }
    // Taken every time: three attempts, then the error carries the server's own reason.
    await expect(PrivatePg.start(root, "b", ca, "pw", undefined, async () => taken)).rejects.toThrow(/server log:[\s\S]*could not bind/i);
  } finally {
    held.close();
    removeRoot(root);
  }
}, 120_000);
