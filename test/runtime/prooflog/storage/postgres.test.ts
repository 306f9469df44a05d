// The PostgreSQL store against the real server (own database meridian_prooflog_test, created if missing).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PostgresStore } from "../../../../runtime/prooflog/storage/postgres.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { generateKey, newSigner } from "../../../../runtime/prooflog/note.js";

const DB = "meridian_prooflog_test";
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const origin = `meridian.test/pg-${process.pid}-${Date.now()}`;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB}`).catch((e: { code?: string }) => {
    if (e.code !== "42P04") throw e; // created concurrently
  });
  await admin.end();
});

afterAll(async () => {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  await c.query("DELETE FROM prooflog_entries WHERE origin = $1", [origin]);
  await c.query("DELETE FROM prooflog_checkpoints WHERE origin = $1", [origin]);
  await c.end();
});

describe("PostgreSQL store", () => {
  it("appends batches durably, replays them in order and rejects an out-of-order writer", async () => {
    const keys = generateKey(origin);
    const log = await TransparencyLog.open({ origin, signer: newSigner(keys.signerKey), store: new PostgresStore(URL, origin) });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => log.add(Buffer.from(`pg ${i}`))));
    expect(results.map((r) => r.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const note = await log.publishCheckpoint();
    const root = Buffer.from(log.tree.root());
    await log.close();

    const again = await TransparencyLog.open({ origin, signer: newSigner(keys.signerKey), store: new PostgresStore(URL, origin) });
    expect(again.size).toBe(500);
    expect(Buffer.from(again.tree.root())).toEqual(root);
    expect(again.checkpoint().note).toBe(note);
    expect((await again.readEntries(498, 500)).map((e) => Buffer.from(e).toString())).toEqual(["pg 498", "pg 499"]);
    await again.close();

    // A second writer that believes the log is shorter collides on the primary key instead of overwriting.
    const stale = new PostgresStore(URL, origin);
    await stale.open(() => undefined);
    (stale as unknown as { size: number }).size = 10;
    await expect(stale.append([Buffer.from("overwrite?")], 10)).rejects.toThrow(/duplicate key/);
    await stale.close();
  });

  it("backs `log serve --postgres`: entries added over HTTP survive a server restart", async () => {
    const { startLogServer } = await import("../../../../runtime/prooflog/serve.js");
    const { LogClient } = await import("../../../../runtime/prooflog/client.js");
    const keys = generateKey(origin);
    const opts = { origin, signerKey: keys.signerKey, postgresUrl: URL, port: 0, checkpointIntervalMs: 10 };
    const first = await startLogServer(opts);
    const before = first.log.size;
    const r = await new LogClient(first.url).add(Buffer.from("over http"));
    expect(r.index).toBe(before);
    await first.app.close();
    const second = await startLogServer(opts);
    expect(second.log.size).toBe(before + 1);
    expect(await new LogClient(second.url).entry(before, second.log.size)).toEqual(Buffer.from("over http"));
    await second.app.close();
  });
});
