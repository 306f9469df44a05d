// C2SP tlog-tiles pruning that frees storage (`meridian log prune`): entry bundles ending at or below the minimum
// index are deleted from the file store and PostgreSQL; hash tiles, partial tiles and the checkpoint stay, so the log
// restarts, keeps appending, and proves entries above the minimum (verify.ts is checked against Go's tlog in
// conformance.test.ts). Small logs: 1,300 entries = 5 full bundles + 20.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ensureDatabase } from "../../pg-database.js";
import { FileStore } from "../../../runtime/prooflog/storage/file.js";
import { PostgresStore } from "../../../runtime/prooflog/storage/postgres.js";
import type { TileStore } from "../../../runtime/prooflog/storage/store.js";
import { TransparencyLog } from "../../../runtime/prooflog/log.js";
import { LogClient, LogClientError, PrunedError } from "../../../runtime/prooflog/index.js";
import { pruneStore } from "../../../runtime/prooflog/recover.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { generateKey, newSigner, newVerifier } from "../../../runtime/prooflog/note.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";
import { verifyConsistency, verifyInclusion } from "../../../runtime/prooflog/proof/verify.js";
import { runCliInProcess } from "../../cli-in-process.js";

const ORIGIN = "meridian.test/prune";
const keys = generateKey(ORIGIN);
const entry = (i: number) => Buffer.from(`prune ${i}`);
const open = (store: TileStore) => TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), verifier: newVerifier(keys.verifierKey), store, maxBatch: 100 });
const fill = async (log: TransparencyLog, from: number, to: number) => {
  for (let i = from; i < to; i += 100) await Promise.all(Array.from({ length: Math.min(100, to - i) }, (_, k) => log.add(entry(i + k))));
};
const failure = (p: Promise<unknown>) =>
  p.then(
    () => "done",
    (e: Error) => `${e.name}: ${e.message}`,
  );

/** After pruning to 1,200: the log opens, appends, proves entries above the minimum and reads them back. */
async function restartsAndProves(store: () => TileStore, size = 1300): Promise<void> {
  const log = await open(store());
  try {
    expect(log.size).toBe(size);
    expect(log.prunedTo).toBe(1200);
    await fill(log, size, 1600);
    await log.publishCheckpoint();
    for (const i of [1200, 1279, 1280, 1599]) verifyInclusion(i, 1600, leafHash(entry(i)), await log.inclusionProof(i, 1600), await log.rootAt(1600));
    verifyConsistency(1300, 1600, await log.consistencyProof(1300, 1600), await log.rootAt(1300), await log.rootAt(1600));
    expect((await log.readEntries(1280, 1283)).map((e) => Buffer.from(e).toString())).toEqual(["prune 1280", "prune 1281", "prune 1282"]);
    expect(await log.add(entry(1500))).toEqual({ index: 1500, duplicate: true });
    await expect(log.readEntries(1000, 1003)).rejects.toThrow(new PrunedError("tile/entries/003", 1024, 1200));
  } finally {
    await log.close();
  }
}

describe("file store pruning", () => {
  // The 1,300-entry log every test starts from, appended once (each append a durable commit: seconds of fsyncs on a
  // busy disk) and copied for each test: a closed store is its files.
  let template: string;
  beforeAll(async () => {
    template = mkdtempSync(join(tmpdir(), "prune-template-"));
    const log = await open(new FileStore(template));
    await fill(log, 0, 1300);
    await log.publishCheckpoint();
    await log.close();
  });
  afterAll(() => rmSync(template, { recursive: true, force: true }));
  async function build(): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), "prune-"));
    cpSync(template, dir, { recursive: true });
    return dir;
  }
  const bundle = (dir: string, n: string) => join(dir, "public/tile/entries", n);

  it("deletes whole bundles at or below the minimum, keeps hash tiles and the checkpoint, refuses an index past the log", async () => {
    const dir = await build();
    try {
      expect(await failure(pruneStore(new FileStore(dir), 1301))).toBe(`PruneRefusedError: minimum index 1301 is beyond the 1300 entries integrated in file store ${dir}`);
      expect(existsSync(bundle(dir, "000"))).toBe(true);
      const cli = await runCliInProcess(["log", "prune", "--data", dir, "--min-index", "1200"]);
      expect(cli.stderr).toBe("");
      expect(cli.stdout).toMatch(/4 entry bundles deleted; the log holds 1300 entries/);
      for (const n of ["000", "001", "002", "003"]) expect(existsSync(bundle(dir, n)), n).toBe(false);
      expect(existsSync(bundle(dir, "004"))).toBe(true); // ends at 1280 > 1200: never a bundle above the minimum
      for (const f of ["tile/0/000", "tile/0/004", "tile/0/005.p/20", "tile/entries/005.p/20", "checkpoint"]) expect(existsSync(join(dir, "public", f)), f).toBe(true);
      expect(readFileSync(join(dir, "state/pruned"), "utf8")).toBe("1200 1024\n");

      await restartsAndProves(() => new FileStore(dir));

      // Served after a restart without --min-index: the store's minimum still answers 404 'pruned'.
      const { app } = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store: new FileStore(dir), port: 0, checkpointIntervalMs: 60_000 });
      try {
        const gone = await app.inject({ url: "/tile/entries/003" });
        expect([gone.statusCode, gone.body]).toEqual([404, expect.stringMatching(/pruned/)]);
        // A partial bundle of a pruned one: the library's PrunedError, not a missing object taken for corruption.
        const partial = await app.inject({ url: "/tile/entries/000.p/5" });
        expect([partial.statusCode, partial.body]).toEqual([404, expect.stringMatching(/tile\/entries\/000 ends at entry 256, at or below the log's minimum index 1200: pruned/)]);
        expect((await app.inject({ url: "/tile/entries/004" })).statusCode).toBe(200);
        expect((await app.inject({ url: "/tile/0/004" })).statusCode).toBe(200);
        // Over HTTP, the client raises the library's PrunedError (bundle end and minimum from the answer), not a bare HTTP error.
        const { port } = app.server.address() as { port: number };
        const client = new LogClient(`http://127.0.0.1:${port}`);
        const pruned = await client.entry(5, 1300).catch((e: unknown) => e);
        expect(pruned).toBeInstanceOf(PrunedError);
        expect(pruned).toMatchObject({ path: "tile/entries/000", end: 256, minIndex: 1200 });
        expect(await client.entries(1000, 1100, 1300).catch((e: unknown) => e)).toBeInstanceOf(PrunedError); // bundle 003
        expect((await client.entry(1250, 1300)).toString()).toBe("prune 1250");
        expect(await client.entry(1_000_000, 1_000_001).catch((e: unknown) => e)).toBeInstanceOf(LogClientError); // beyond the tree: a plain error
      } finally {
        await app.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("log serve --min-index deletes the bundles below it once the published checkpoint reaches it, while appending", async () => {
    const dir = await build();
    try {
      const { app, log } = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store: new FileStore(dir), port: 0, checkpointIntervalMs: 50, minIndex: 1200 });
      try {
        await fill(log, 1300, 1400);
        for (let i = 0; i < 100 && existsSync(bundle(dir, "003")); i++) await new Promise((r) => setTimeout(r, 50));
        for (const n of ["000", "001", "002", "003"]) expect(existsSync(bundle(dir, n)), n).toBe(false);
        expect(existsSync(bundle(dir, "004"))).toBe(true);
        expect(log.prunedTo).toBe(1200);
      } finally {
        await app.close();
      }
      await restartsAndProves(() => new FileStore(dir), 1400);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("log serve --min-index retries a prune that failed, and finishes one cut short before it started", async () => {
    const dir = await build();
    try {
      writeFileSync(join(dir, "state/pruned"), "1200 0\n"); // a prune cut short: minimum recorded, nothing deleted yet
      const store = new FileStore(dir);
      const prune = store.prune.bind(store);
      let calls = 0;
      store.prune = (minIndex: number) => (++calls === 1 ? Promise.reject(new Error("EIO: the first attempt fails")) : prune(minIndex));
      const { app, log } = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, store, port: 0, checkpointIntervalMs: 50, minIndex: 1200 });
      try {
        const record = () => readFileSync(join(dir, "state/pruned"), "utf8");
        for (let i = 0; i < 100 && record() !== "1200 1024\n"; i++) await new Promise((r) => setTimeout(r, 50)); // written last
        expect(calls).toBe(2);
        for (const n of ["000", "001", "002", "003"]) expect(existsSync(bundle(dir, n)), n).toBe(false);
        expect(record()).toBe("1200 1024\n");
        expect(log.prunedTo).toBe(1200);
      } finally {
        await app.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a prune cut short (minimum recorded, some bundles deleted) leaves a store that restarts; the next prune finishes", async () => {
    const dir = await build();
    try {
      // What a kill between the durable record of the minimum and the end of the sweep leaves behind.
      writeFileSync(join(dir, "state/pruned"), "1200 0\n");
      rmSync(bundle(dir, "002"));
      rmSync(bundle(dir, "003"));
      const log = await open(new FileStore(dir)); // verifies the newest tiles, skipping their pruned bundles
      expect([log.size, log.prunedTo]).toEqual([1300, 1200]);
      await log.close();
      expect(await pruneStore(new FileStore(dir), 1200)).toEqual({ size: 1300, removed: 2 });
      expect(existsSync(bundle(dir, "000")) || existsSync(bundle(dir, "001"))).toBe(false);
      await restartsAndProves(() => new FileStore(dir));
      // A torn record of the minimum is refused by name, not read as "nothing pruned".
      writeFileSync(join(dir, "state/pruned"), "12");
      expect(await failure(pruneStore(new FileStore(dir), 1200))).toMatch(/^CorruptStoreError: .*state\/pruned is not/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("PostgreSQL pruning", () => {
  const DB = "meridian_prooflog_test";
  const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
  const origin = `${ORIGIN}-${process.pid}-${Date.now()}`;
  let admin: pg.Client;
  const pgOpen = (store: TileStore) => TransparencyLog.open({ origin, signer: newSigner(pgKeys.signerKey), verifier: newVerifier(pgKeys.verifierKey), store, maxBatch: 100 });
  const pgKeys = generateKey(origin);
  const store = () => new PostgresStore(URL, origin, { lockWaitMs: 0 });

  beforeAll(async () => {
    await ensureDatabase(DB);
    admin = new pg.Client({ connectionString: URL });
    await admin.connect();
  });
  afterAll(async () => {
    for (const t of ["prooflog_tiles", "prooflog_state", "prooflog_checkpoints", "prooflog_antispam", "prooflog_pruned"])
      await admin.query(`DELETE FROM ${t} WHERE origin = $1`, [origin]).catch(() => undefined);
    await admin.end();
  });

  it("deletes the bundle rows at or below the minimum in transactions that record it; the log restarts, appends and proves", async () => {
    const log = await pgOpen(store());
    await fill(log, 0, 700);
    await log.publishCheckpoint();
    await log.close();
    const rows = async () => (await admin.query<{ path: string }>("SELECT path FROM prooflog_tiles WHERE origin = $1 AND path LIKE 'tile/entries/%' ORDER BY path", [origin])).rows.map((r) => r.path);
    expect(await rows()).toEqual(["tile/entries/000", "tile/entries/001", "tile/entries/002.p/188"]);
    expect(await failure(pruneStore(store(), 701))).toMatch(/^PruneRefusedError: minimum index 701 is beyond the 700 entries integrated/);
    expect(await pruneStore(store(), 600)).toEqual({ size: 700, removed: 2 });
    expect(await rows()).toEqual(["tile/entries/002.p/188"]);
    expect((await admin.query("SELECT min_index FROM prooflog_pruned WHERE origin = $1", [origin])).rows).toEqual([{ min_index: "600" }]);
    expect((await admin.query("SELECT count(*)::int AS n FROM prooflog_tiles WHERE origin = $1 AND path LIKE 'tile/0/%'", [origin])).rows[0]).toEqual({ n: 3 });
    const again = await pgOpen(store());
    try {
      expect([again.size, again.prunedTo]).toEqual([700, 600]);
      await fill(again, 700, 900);
      await again.publishCheckpoint();
      verifyInclusion(600, 900, leafHash(entry(600)), await again.inclusionProof(600, 900), await again.rootAt(900));
      verifyConsistency(700, 900, await again.consistencyProof(700, 900), await again.rootAt(700), await again.rootAt(900));
    } finally {
      await again.close();
    }
  });
});
