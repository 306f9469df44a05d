/**
 * PostgreSQL store, tile-native: `prooflog_tiles(origin, path, data)` holds exactly the tlog-tiles objects
 * (entry bundles gzip-compressed), `prooflog_state` the tree state (the commit point), `prooflog_checkpoints`
 * the published checkpoint, `prooflog_antispam` the duplicate index (leaf hash → index). A commit is one
 * transaction: the tiles and bundles it completed (plain INSERTs, so an object that already exists — an index
 * being reused — aborts it), the batch's leaf hashes, and a state update fenced on the previous size. Restart
 * reads one state row.
 *
 * Single writer: the store takes a session advisory lock for its origin on a dedicated connection and makes every
 * write on that connection, so a writer that lost its session (and with it the lock) cannot write at all. A
 * second `log serve` on the same database waits for the lock (a hot standby) or, with `lockWaitMs: 0`, fails
 * at once naming the holder.
 */
import pg from "pg";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { hashesAtLevel } from "../integrate.js";
import { type Hash, HASH_SIZE } from "../rfc6962.js";
import { encodeEntryBundle, tilePath, TILE_WIDTH } from "../tiles.js";
import { gunzipIfNeeded } from "./file.js";
import { CorruptStoreError } from "./journal.js";
import { decodeState, encodeState, type TreeState } from "./state.js";
import { leafList, type Commit, type Publication, type Recovered, type TileStore } from "./store.js";
import { endLockSession } from "../../common/pg-lock.js";

const gz = promisify(gzip);

const SCHEMA = `
CREATE TABLE IF NOT EXISTS prooflog_tiles (origin text NOT NULL, path text NOT NULL, data bytea NOT NULL, PRIMARY KEY (origin, path));
CREATE TABLE IF NOT EXISTS prooflog_state (origin text PRIMARY KEY, size bigint NOT NULL, state bytea NOT NULL);
CREATE TABLE IF NOT EXISTS prooflog_checkpoints (origin text PRIMARY KEY, note text NOT NULL);
CREATE TABLE IF NOT EXISTS prooflog_antispam (origin text NOT NULL, leaf bytea NOT NULL, idx bigint NOT NULL, PRIMARY KEY (origin, leaf));
CREATE TABLE IF NOT EXISTS prooflog_pruned (origin text PRIMARY KEY, min_index bigint NOT NULL);`;

/** Bundles deleted per transaction by `prune` (the default of `pruneChunk`). */
const PRUNE_CHUNK = 256;

export class WriterLockError extends Error {
  override name = "WriterLockError";
}

export interface PostgresStoreOptions {
  /** How long to wait for the single-writer lock; 0 fails at once. Default: wait forever (hot standby). */
  lockWaitMs?: number;
  onWaiting?: (message: string) => void;
  /** Bundles `prune` deletes per transaction (default 256: 64 Ki entries); smaller keeps each transaction short. */
  pruneChunk?: number;
}

export class PostgresStore implements TileStore {
  readonly description: string;
  private readonly pool: pg.Pool;
  private writer: pg.Client | null = null;
  private size = 0;
  private lost: Error | null = null;

  constructor(
    private readonly url: string,
    private readonly origin: string,
    private readonly o: PostgresStoreOptions = {},
  ) {
    this.description = `PostgreSQL store (origin ${origin})`;
    if (o.pruneChunk !== undefined && !(Number.isSafeInteger(o.pruneChunk) && o.pruneChunk > 0)) throw new RangeError(`pruneChunk ${o.pruneChunk} is not a positive integer`);
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
  }

  private async takeLock(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url });
    // Listened to before connecting: a FATAL can arrive in the same read as the startup's ReadyForQuery (common/pg-tx.ts).
    c.on("error", (e) => (this.lost = e));
    await c.connect();
    c.on("end", () => (this.lost ??= new Error("the writer connection to PostgreSQL closed")));
    await c.query(SCHEMA).catch(async (e: { code?: string }) => {
      if (e.code !== "23505" && e.code !== "42P07") throw e; // concurrent CREATE TABLE IF NOT EXISTS
    });
    const deadline = this.o.lockWaitMs === undefined ? Infinity : Date.now() + this.o.lockWaitMs;
    let told = false;
    for (;;) {
      const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [`meridian-prooflog:${this.origin}`]);
      if (r.rows[0]!.ok) break;
      const holder = await c.query<{ pid: number; addr: string | null }>(
        "SELECT a.pid, host(a.client_addr) AS addr FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND l.objid = (hashtextextended($1, 0) & 4294967295)::oid LIMIT 1",
        [`meridian-prooflog:${this.origin}`],
      );
      const who = holder.rows[0] ? `backend pid ${holder.rows[0].pid}${holder.rows[0].addr ? ` from ${holder.rows[0].addr}` : ""}` : "another session";
      const msg = `log ${this.origin} already has a writer (${who} holds its PostgreSQL advisory lock)`;
      if (Date.now() >= deadline) {
        await c.end();
        throw new WriterLockError(`${msg}; a log has exactly one sequencer`);
      }
      if (!told) this.o.onWaiting?.(`${msg}; waiting to take over as the writer`);
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
    this.writer = c;
  }

  async open(): Promise<Recovered> {
    await this.takeLock();
    const c = this.writer!;
    const legacy = await c.query("SELECT to_regclass('prooflog_entries') IS NOT NULL AS t");
    const st = await c.query<{ size: string; state: Buffer }>("SELECT size, state FROM prooflog_state WHERE origin = $1", [this.origin]);
    if (st.rows.length === 0 && (legacy.rows[0] as { t: boolean }).t) {
      const old = await c.query("SELECT 1 FROM prooflog_entries WHERE origin = $1 LIMIT 1", [this.origin]);
      if (old.rows.length > 0) throw new CorruptStoreError(`${this.description}: prooflog_entries holds entries in the old row-per-entry format; this version stores tiles`);
    }
    const state = st.rows[0] ? decodeState(st.rows[0].state, `prooflog_state row for ${this.origin}`) : null;
    if (state && state.size !== Number(st.rows[0]!.size)) throw new CorruptStoreError(`${this.description}: prooflog_state.size ${st.rows[0]!.size} disagrees with the state it holds (${state.size})`);
    this.size = state?.size ?? 0;
    const cp = await c.query<{ note: string }>("SELECT note FROM prooflog_checkpoints WHERE origin = $1", [this.origin]);
    return { state, pending: [], checkpoint: cp.rows[0]?.note ?? null, pruned: await this.prunedTo(c) };
  }

  private async prunedTo(c: pg.Client): Promise<number> {
    const r = await c.query<{ min_index: string }>("SELECT min_index FROM prooflog_pruned WHERE origin = $1", [this.origin]);
    return Number(r.rows[0]?.min_index ?? 0);
  }

  /**
   * Delete the full bundles ending at or below `minIndex` (and partial bundles beside them) a chunk per
   * transaction, each recording how far it reached, so `prooflog_pruned` always covers every deleted row and a
   * prune cut short resumes there.
   */
  async prune(minIndex: number): Promise<number> {
    const from = Math.floor((await this.prunedTo(this.client())) / TILE_WIDTH);
    const end = Math.floor(minIndex / TILE_WIDTH);
    let removed = 0;
    const chunk = this.o.pruneChunk ?? PRUNE_CHUNK;
    for (let n = from; n < end || n === from; n += chunk) {
      const last = Math.min(end, n + chunk);
      const paths = Array.from({ length: Math.max(0, last - n) }, (_, k) => tilePath({ level: "entries", index: n + k, width: TILE_WIDTH }));
      await this.tx(async (c) => {
        if (paths.length > 0) {
          const r = await c.query<{ path: string }>("DELETE FROM prooflog_tiles WHERE origin = $1 AND (path = ANY($2::text[]) OR path LIKE ANY($3::text[])) RETURNING path", [
            this.origin,
            paths,
            paths.map((p) => `${p}.p/%`),
          ]);
          removed += r.rows.filter((row) => !row.path.includes(".p/")).length;
        }
        const reached = last >= end ? minIndex : last * TILE_WIDTH;
        await c.query("INSERT INTO prooflog_pruned (origin, min_index) VALUES ($1, $2) ON CONFLICT (origin) DO UPDATE SET min_index = GREATEST(prooflog_pruned.min_index, EXCLUDED.min_index)", [
          this.origin,
          reached,
        ]);
      });
    }
    return removed;
  }

  private client(): pg.Client {
    if (this.lost) throw new WriterLockError(`lost the PostgreSQL writer session (and its lock): ${this.lost.message}`);
    if (!this.writer) throw new Error("store is not open");
    return this.writer;
  }

  /** Settles when the last transaction handed to `tx` has ended. */
  private txs: Promise<unknown> = Promise.resolve();

  /**
   * One transaction on the writer connection, after the ones before it. The connection has one transaction at a
   * time: a prune chunk (`log serve --min-index`) or a publish overlapping a commit would otherwise run inside it
   * (a second BEGIN is only a warning) and its COMMIT would make half of the commit durable.
   */
  private tx(fn: (c: pg.Client) => Promise<void>): Promise<void> {
    const run = this.txs.then(() => this.txNow(fn));
    this.txs = run.catch(() => undefined);
    return run;
  }

  private async txNow(fn: (c: pg.Client) => Promise<void>): Promise<void> {
    const c = this.client();
    await c.query("BEGIN");
    try {
      await fn(c);
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    }
  }

  private async insertObjects(c: pg.Client, objects: { path: string; data: Uint8Array }[], onConflict = ""): Promise<void> {
    if (objects.length === 0) return;
    await c.query(`INSERT INTO prooflog_tiles (origin, path, data) SELECT $1, * FROM unnest($2::text[], $3::bytea[]) ${onConflict}`, [
      this.origin,
      objects.map((o) => o.path),
      objects.map((o) => Buffer.from(o.data)),
    ]);
  }

  async commit(cm: Commit): Promise<void> {
    if (cm.firstIndex !== this.size) throw new Error(`commit at ${cm.firstIndex} but the store holds ${this.size} entries`);
    const objects = [
      ...cm.tiles.map((t) => ({ path: tilePath({ level: t.level, index: t.index, width: TILE_WIDTH }), data: t.data })),
      ...(await Promise.all(cm.bundles.map(async (b) => ({ path: tilePath({ level: "entries", index: b.index, width: TILE_WIDTH }), data: await gz(b.data) })))),
    ];
    await this.tx(async (c) => {
      await this.insertObjects(c, objects);
      const leaves = leafList(cm);
      if (leaves.length > 0) {
        await c.query("INSERT INTO prooflog_antispam (origin, leaf, idx) SELECT $1, * FROM unnest($2::bytea[], $3::bigint[]) ON CONFLICT (origin, leaf) DO NOTHING", [
          this.origin,
          leaves.map((h) => Buffer.from(h)),
          leaves.map((_, i) => cm.firstIndex + i),
        ]);
      }
      const blob = encodeState(cm.state as TreeState);
      const r =
        this.size === 0
          ? await c.query(
              "INSERT INTO prooflog_state (origin, size, state) VALUES ($1, $2, $3) ON CONFLICT (origin) DO UPDATE SET size = EXCLUDED.size, state = EXCLUDED.state WHERE prooflog_state.size = 0",
              [this.origin, cm.state.size, blob],
            )
          : await c.query("UPDATE prooflog_state SET size = $2, state = $3 WHERE origin = $1 AND size = $4", [this.origin, cm.state.size, blob, this.size]);
      if (r.rowCount !== 1) throw new WriterLockError(`prooflog_state for ${this.origin} is no longer at size ${this.size}: another writer moved it`);
    });
    this.size = cm.state.size;
  }

  async sync(): Promise<void> {}

  async publish(p: Publication): Promise<void> {
    const e = p.edge;
    const objects: { path: string; data: Uint8Array }[] = [];
    e.tiles.forEach((t, L) => {
      const width = t.length / HASH_SIZE;
      if (width > 0) objects.push({ path: tilePath({ level: L, index: Math.floor(hashesAtLevel(e.size, L) / TILE_WIDTH), width }), data: t });
    });
    if (e.entries.length > 0) objects.push({ path: tilePath({ level: "entries", index: Math.floor(e.size / TILE_WIDTH), width: e.entries.length }), data: await gz(encodeEntryBundle(e.entries)) });
    await this.tx(async (c) => {
      await this.insertObjects(c, objects, "ON CONFLICT (origin, path) DO NOTHING");
      await c.query("INSERT INTO prooflog_checkpoints (origin, note) VALUES ($1, $2) ON CONFLICT (origin) DO UPDATE SET note = EXCLUDED.note", [this.origin, p.note]);
    });
  }

  private async object(path: string): Promise<Buffer | null> {
    const r = await this.pool.query<{ data: Buffer }>("SELECT data FROM prooflog_tiles WHERE origin = $1 AND path = $2", [this.origin, path]);
    return r.rows[0]?.data ?? null;
  }

  readTile(level: number, index: number): Promise<Uint8Array | null> {
    return this.object(tilePath({ level, index, width: TILE_WIDTH }));
  }

  async readBundle(index: number): Promise<Uint8Array | null> {
    const b = await this.object(tilePath({ level: "entries", index, width: TILE_WIDTH }));
    return b && gunzipIfNeeded(b);
  }

  async findLeaves(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    if (leaves.length === 0) return [];
    const r = await this.pool.query<{ leaf: Buffer; idx: string }>("SELECT leaf, idx FROM prooflog_antispam WHERE origin = $1 AND leaf = ANY($2::bytea[])", [
      this.origin,
      leaves.map((h) => Buffer.from(h)),
    ]);
    const found = new Map(r.rows.map((row) => [row.leaf.toString("hex"), Number(row.idx)]));
    return leaves.map((h) => found.get(Buffer.from(h).toString("hex")));
  }

  async close(): Promise<void> {
    await endLockSession(this.writer);
    this.writer = null;
    await this.pool.end();
  }
}
