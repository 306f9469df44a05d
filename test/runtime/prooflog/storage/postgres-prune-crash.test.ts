// A PostgreSQL prune killed between its transactions. `meridian log prune --chunk 2` runs in a child process; a
// second session holds a row lock on the first bundle of the second chunk, so the child commits chunk one (bundles
// 000–001 and the minimum 512) and then waits inside chunk two's DELETE until it is SIGKILLed. The store it leaves
// must open with that minimum, lose nothing above it, answer `pruned` below it, and a rerun must finish the job.
// 1,300 entries = 5 full bundles + 20.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import pg from "pg";
import { ensureDatabase } from "../../../pg-database.js";
import { PostgresStore } from "../../../../runtime/prooflog/storage/postgres.js";
import type { Commit } from "../../../../runtime/prooflog/storage/store.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { PrunedError } from "../../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../../runtime/prooflog/serve.js";
import { generateKey, newSigner, newVerifier } from "../../../../runtime/prooflog/note.js";
import { leafHash } from "../../../../runtime/prooflog/rfc6962.js";
import { verifyInclusion } from "../../../../runtime/prooflog/proof/verify.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../../cli.js";
import { runCliInProcess } from "../../../cli-in-process.js";

const DB = "meridian_prune_crash";
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const ORIGIN = `meridian.test/prune-crash-${process.pid}-${Date.now()}`;
const keys = generateKey(ORIGIN);
const entry = (i: number) => Buffer.from(`crash ${i}`);
const open = () =>
  TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), verifier: newVerifier(keys.verifierKey), store: new PostgresStore(URL, ORIGIN, { lockWaitMs: 10_000 }), maxBatch: 100 });
let admin: pg.Client;
/** Holds the row lock, in a session of its own (pg_stat_activity is read once per transaction). */
let locker: pg.Client;
const query = async <T extends pg.QueryResultRow>(sql: string, args: unknown[] = []) => (await admin.query<T>(sql, args)).rows;
const bundles = async () => (await query<{ path: string }>("SELECT path FROM prooflog_tiles WHERE origin = $1 AND path LIKE 'tile/entries/%' ORDER BY path", [ORIGIN])).map((r) => r.path);
const minIndex = async () => (await query<{ min_index: string }>("SELECT min_index FROM prooflog_pruned WHERE origin = $1", [ORIGIN]))[0]?.min_index;
const until = async (what: string, done: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

beforeAll(async () => {
  await ensureDatabase(DB);
  admin = new pg.Client({ connectionString: URL });
  locker = new pg.Client({ connectionString: URL });
  await Promise.all([admin.connect(), locker.connect()]);
});
afterAll(async () => {
  await locker.end();
  for (const t of ["prooflog_tiles", "prooflog_state", "prooflog_checkpoints", "prooflog_antispam", "prooflog_pruned"])
    await admin.query(`DELETE FROM ${t} WHERE origin = $1`, [ORIGIN]).catch(() => undefined);
  await admin.end();
});

describe("PostgreSQL prune killed between transactions", () => {
  it("keeps the committed chunk's minimum, loses nothing above it, answers pruned below it, and a rerun finishes", async () => {
    const log = await open();
    for (let i = 0; i < 1300; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => log.add(entry(i + k))));
    await log.publishCheckpoint();
    await log.close();
    const before = await bundles();
    expect(before).toEqual(["tile/entries/000", "tile/entries/001", "tile/entries/002", "tile/entries/003", "tile/entries/004", "tile/entries/005.p/20"]);

    // Block chunk two (bundles 002–003) on a row lock; chunk one never touches that row.
    await locker.query("BEGIN");
    await locker.query("SELECT 1 FROM prooflog_tiles WHERE origin = $1 AND path = 'tile/entries/002' FOR UPDATE", [ORIGIN]);
    const child = spawn(process.execPath, [MERIDIAN_BIN, "log", "prune", "--postgres", URL, "--origin", ORIGIN, "--min-index", "1200", "--chunk", "2"], { cwd: REPO_ROOT, stdio: "ignore" });
    const exited = new Promise((r) => child.on("exit", r));
    let childBackend = 0;
    await until("the prune to wait on the row lock", async () => {
      const rows = await query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM prooflog_tiles%'", [DB]);
      childBackend = rows[0]?.pid ?? 0;
      return childBackend !== 0 || child.exitCode !== null;
    });
    expect(child.exitCode).toBe(null);
    child.kill("SIGKILL");
    await exited;
    await locker.query("ROLLBACK"); // the dead client's transaction resumes, finds its socket closed, and aborts
    await until("the killed prune's backend to end", async () => (await query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [childBackend])).length === 0);

    // Chunk one stands (its minimum with it); chunk two left nothing behind.
    expect(await minIndex()).toBe("512");
    expect(await bundles()).toEqual(before.slice(2));
    const cut = await open();
    try {
      expect([cut.size, cut.prunedTo]).toEqual([1300, 512]);
      const kept = await cut.readEntries(512, 1300);
      expect(kept.map((e) => Buffer.from(e).toString())).toEqual(Array.from({ length: 788 }, (_, i) => `crash ${512 + i}`));
      const gone = await cut.readEntries(300, 303).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(PrunedError);
      expect(gone).toMatchObject({ name: "PrunedError", path: "tile/entries/001", end: 512, minIndex: 512 });
      verifyInclusion(512, 1300, leafHash(entry(512)), await cut.inclusionProof(512, 1300), await cut.rootAt(1300));
    } finally {
      await cut.close();
    }
    const { app } = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store: new PostgresStore(URL, ORIGIN, { lockWaitMs: 10_000 }), port: 0, checkpointIntervalMs: 60_000 });
    try {
      const res = await Promise.all(["/tile/entries/001", "/tile/entries/000.p/5", "/tile/entries/002"].map(async (url) => (await app.inject({ url })).statusCode));
      expect(res).toEqual([404, 404, 200]);
      expect((await app.inject({ url: "/tile/entries/001" })).body).toMatch(/at or below the log's minimum index 512: pruned/);
    } finally {
      await app.close();
    }

    // The rerun resumes at bundle 002 and reaches the minimum asked for.
    const rerun = await runCliInProcess(["log", "prune", "--postgres", URL, "--origin", ORIGIN, "--min-index", "1200", "--chunk", "2", "--lock-wait", "10000"]);
    expect([rerun.status, rerun.stderr, rerun.stdout]).toEqual([0, "", expect.stringMatching(/: 2 entry bundles deleted; the log holds 1300 entries/)]);
    expect(await minIndex()).toBe("1200");
    expect(await bundles()).toEqual(["tile/entries/004", "tile/entries/005.p/20"]);
    const done = await open();
    try {
      expect(done.prunedTo).toBe(1200);
      expect((await done.readEntries(1280, 1300)).length).toBe(20);
      await expect(done.readEntries(1000, 1001)).rejects.toThrow(PrunedError);
    } finally {
      await done.close();
    }
  });
});

describe("PostgreSQL prune beside appends (log serve --min-index)", () => {
  // The store writes on one connection; a prune chunk and a commit must not share a transaction on it.
  it("keeps a commit that runs while a prune chunk is open in a transaction of its own", async () => {
    const origin = `${ORIGIN}-live`;
    const k = generateKey(origin);
    const opts = { origin, signer: newSigner(k.signerKey), verifier: newVerifier(k.verifierKey), maxBatch: 100 };
    const first = new PostgresStore(URL, origin, { lockWaitMs: 10_000 });
    let held: Commit | undefined;
    const commit = first.commit.bind(first);
    first.commit = async (c) => {
      if (c.firstIndex < 1300) return commit(c);
      held = c; // the commit of entry 1300, kept for the race below
      throw new Error("held back");
    };
    const log = await TransparencyLog.open({ ...opts, store: first });
    for (let i = 0; i < 1300; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => log.add(entry(i + j))));
    await log.add(entry(1300)).catch(() => undefined);
    await log.close().catch(() => undefined);
    expect(held?.firstIndex).toBe(1300);

    const other = new pg.Client({ connectionString: URL });
    await other.connect();
    const store = new PostgresStore(URL, origin, { lockWaitMs: 10_000 });
    try {
      await store.open();
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM prooflog_tiles WHERE origin = $1 AND path = 'tile/entries/002' FOR UPDATE", [origin]);
      await other.query("BEGIN");
      await other.query("SELECT 1 FROM prooflog_state WHERE origin = $1 FOR UPDATE", [origin]);
      const waiting = (sql: string) => async () => (await query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE $2", [DB, `${sql}%`])).length > 0;
      const pruned = store.prune(1200);
      await until("the prune's DELETE to wait", waiting("DELETE FROM prooflog_tiles"));
      const committed = store.commit(held!);
      committed.catch(() => undefined); // awaited below; a failed expectation must not leave it unhandled
      await new Promise((r) => setImmediate(r)); // the commit has sent what it sends before it needs an answer
      await locker.query("ROLLBACK");
      expect(await pruned).toBe(4);
      await until("the commit's state update to wait", waiting("UPDATE prooflog_state"));
      // Its transaction is still open: nothing it wrote is visible, the duplicate index least of all.
      expect(await query("SELECT idx FROM prooflog_antispam WHERE origin = $1 AND idx >= 1300", [origin])).toEqual([]);
      await other.query("ROLLBACK");
      await committed;
      expect(await query("SELECT idx FROM prooflog_antispam WHERE origin = $1 AND idx >= 1300", [origin])).toEqual([{ idx: "1300" }]);
    } finally {
      await other.end();
      await store.close();
      for (const t of ["prooflog_tiles", "prooflog_state", "prooflog_checkpoints", "prooflog_antispam", "prooflog_pruned"])
        await admin.query(`DELETE FROM ${t} WHERE origin = $1`, [origin]).catch(() => undefined);
    }
  });
});
