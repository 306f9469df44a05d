// The fault tests' private PostgreSQL primary and replica (private-postgres.ts): a port another process takes between
// asking for it and the server's bind costs one more attempt, not the test run; a port taken every time fails with
// the server log's own reason.
import { createServer } from "node:net";
import { expect, it } from "vitest";
import { freePort } from "../../../ports.js";
import { PrivatePostgres } from "./private-postgres.js";

it("a port taken before a server binds it: primary and replica each start on the next one; taken every time, the error names 'could not bind'", async () => {
  const held = createServer();
  const taken = await new Promise<number>((r) => held.listen(0, "127.0.0.1", () => r((held.address() as { port: number }).port)));
  try {
    // The primary's first port is taken, then the replica's first.
    const asked: number[] = [];
    const pgp = await PrivatePostgres.start({ nextPort: async () => (asked.push(asked.length % 2 === 0 ? taken : await freePort()), asked.at(-1)!) });
    try {
      expect(asked).toHaveLength(4);
      expect(pgp.primary.port).toBe(asked[1]);
      expect(pgp.replica?.port).toBe(asked[3]);
      await pgp.createDatabase("ports_ok");
    } finally {
      await pgp.stop();
    }
    // Taken every time: three attempts, then the error carries the server's own reason.
    let attempts = 0;
    await expect(PrivatePostgres.start({ nextPort: async () => (attempts++, taken) })).rejects.toThrow(/server log:[\s\S]*could not bind/i);
    expect(attempts).toBe(3);
  } finally {
    held.close();
  }
}, 120_000);
