// The PostgreSQL store against the real server (own database meridian_prooflog_test, one origin per test):
// tile-native rows, restart from one state row, a single writer, and a log that refuses to start when the
// database lost rows it had acknowledged (a lagging replica promoted, a stale restore).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { ensureDatabase } from "../../../pg-database.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresStore } from "../../../../runtime/prooflog/storage/postgres.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { generateKey, newSigner, newVerifier } from "../../../../runtime/prooflog/note.js";
import { startLogServer } from "../../../../runtime/prooflog/serve.js";
import { LogClient } from "../../../../runtime/prooflog/client.js";

const DB = "meridian_prooflog_test";
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const run = `${process.pid}-${Date.now()}`;
const origins: string[] = [];
let admin: pg.Client;

function fresh(name: string) {
  const origin = `meridian.test/pg-${name}-${run}`;
  origins.push(origin);
  const keys = generateKey(origin);
  const open = (o: { lockWaitMs?: number; mustExtend?: { source: string; note: string }[] } = {}) =>
    TransparencyLog.open({
      origin,
      signer: newSigner(keys.signerKey),
      verifier: newVerifier(keys.verifierKey),
      store: new PostgresStore(URL, origin, { lockWaitMs: o.lockWaitMs ?? 0 }),
      maxBatch: 100,
      mustExtend: o.mustExtend,
    });
  return { origin, keys, open };
}
const fill = (log: TransparencyLog, from: number, to: number) => Promise.all(Array.from({ length: to - from }, (_, i) => log.add(Buffer.from(`pg ${from + i}`))));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => "started",
    (e: Error) => `${e.name}: ${e.message}`,
  );

beforeAll(async () => {
  await ensureDatabase(DB);
  admin = new pg.Client({ connectionString: URL });
  await admin.connect();
});

afterAll(async () => {
  for (const t of ["prooflog_tiles", "prooflog_state", "prooflog_checkpoints"]) await admin.query(`DELETE FROM ${t} WHERE origin = ANY($1)`, [origins]).catch(() => undefined);
  await admin.end();
});

describe("PostgreSQL store", () => {
  it("commits batches as tile rows, restarts from the state row with the same root, and serves entries", async () => {
    const { origin, open } = fresh("basic");
    const log = await open();
    const r = await fill(log, 0, 700);
    expect(r.map((x) => x.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 700 }, (_, i) => i));
    await log.publishCheckpoint();
    const root = Buffer.from(await log.rootAt(700));
    await log.close();
    const paths = (await admin.query<{ path: string }>("SELECT path FROM prooflog_tiles WHERE origin = $1 ORDER BY path", [origin])).rows.map((x) => x.path);
    expect(paths).toEqual(expect.arrayContaining(["tile/0/000", "tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2", "tile/entries/000", "tile/entries/002.p/188"]));

    const again = await open();
    expect(again.size).toBe(700);
    expect(Buffer.from(await again.rootAt(700))).toEqual(root);
    expect((await again.readEntries(255, 258)).map((e) => Buffer.from(e).toString())).toEqual(["pg 255", "pg 256", "pg 257"]);
    expect(await again.add(Buffer.from("pg 3"))).toEqual({ index: 3, duplicate: true });
    await again.close();
  });

  it("has a single writer: a second sequencer is refused, naming the lock holder", async () => {
    const { open } = fresh("lock");
    const first = await open();
    expect(await failure(open())).toMatch(
      /WriterLockError: log meridian\.test\/pg-lock-\S+ already has a writer \(backend pid \d+.*holds its PostgreSQL advisory lock\); a log has exactly one sequencer/,
    );
    await first.close();
    await (await open()).close(); // released with the session
  });

  it("refuses to start after losing its last rows (state rolled back), instead of re-issuing acknowledged indices", async () => {
    const { origin, open } = fresh("lost");
    const log = await open();
    await fill(log, 0, 500);
    await log.publishCheckpoint();
    const stale = (await admin.query<{ size: string; state: Buffer }>("SELECT size, state FROM prooflog_state WHERE origin = $1", [origin])).rows[0]!;
    const staleCheckpoint = log.checkpoint().note;
    await fill(log, 500, 1200);
    const kept = await log.publishCheckpoint();
    await log.close();

    // A replica that lagged by 700 entries is promoted: its state row, tiles and checkpoint are all older.
    await admin.query("UPDATE prooflog_state SET size = $2, state = $3 WHERE origin = $1", [origin, stale.size, stale.state]);
    await admin.query("DELETE FROM prooflog_tiles WHERE origin = $1 AND path >= 'tile/0/001'", [origin]);
    await admin.query("UPDATE prooflog_checkpoints SET note = $2 WHERE origin = $1", [origin, staleCheckpoint]);
    const refused = await failure(open({ mustExtend: [{ source: "checkpoint file /var/lib/meridian/checkpoint", note: kept }] }));
    expect(refused).toMatch(
      /ForkRefusedError: checkpoint file \/var\/lib\/meridian\/checkpoint shows this log signed size 1200, but PostgreSQL store \(origin \S+\) holds only 500 entries: acknowledged entries are missing/,
    );

    // Rows deleted outright: the store's own checkpoint row still names the size it signed.
    await admin.query("DELETE FROM prooflog_state WHERE origin = $1", [origin]);
    expect(await failure(open())).toMatch(/ForkRefusedError: the checkpoint in PostgreSQL store .* shows this log signed size 500, but .* holds only 0 entries/);
  });

  it("backs `log serve --postgres` with a checkpoint file kept apart: entries survive a restart over HTTP", async () => {
    const { origin, keys } = fresh("serve");
    const checkpointFile = join(mkdtempSync(join(tmpdir(), "pg-cp-")), "checkpoint");
    const opts = { origin, signerKey: keys.signerKey, postgresUrl: URL, port: 0, checkpointIntervalMs: 10, checkpointFile, lockWaitMs: 0 };
    const first = await startLogServer(opts);
    expect((await new LogClient(first.url).add(Buffer.from("over http"))).index).toBe(0);
    await first.app.close();
    const second = await startLogServer(opts);
    expect(second.log.size).toBe(1);
    expect(await new LogClient(second.url).entry(0, 1)).toEqual(Buffer.from("over http"));
    await second.app.close();
    await admin.query("DELETE FROM prooflog_state WHERE origin = $1", [origin]);
    await admin.query("DELETE FROM prooflog_checkpoints WHERE origin = $1", [origin]);
    // Everything in the database is gone, but the checkpoint file remembers size 1.
    await expect(startLogServer(opts)).rejects.toThrow(/checkpoint file .* shows this log signed size 1, but .* holds only 0 entries/);
  });
});
