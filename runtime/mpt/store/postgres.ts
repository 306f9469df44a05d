/**
 * PostgreSQL store for `mpt serve --postgres URL`: `mpt_head` (one row: secure, seed root, revision, root) and
 * `mpt_entries(key, value)` keyed by trie key. A change is one transaction — the entry's upsert or delete and the
 * head moved to the new revision and root, fenced on the previous revision — so a crash leaves the change either
 * wholly there or not at all, and it is acknowledged only after COMMIT returns. The trie is held in memory by one
 * process: a session advisory lock, taken at `load` on a connection kept for the store's life, refuses a second
 * `mpt serve` on the same database; the server drops it with the connection when its holder dies (kill -9). If
 * that connection is lost while the service runs, another process may take the lock, so writes are refused from
 * then on (the service asks for a restart, which takes the lock again and reads the store back).
 * One trie per database (or per schema, with `?options=-csearch_path%3D…` in the URL).
 */
import pg from "pg";
import { inTransaction } from "../../common/pg-tx.js";
import type { TrieEntry } from "../trie.js";
import { MptStoreError, type MptChange, type MptStore, type StoredTrie } from "./port.js";
import { endLockSession } from "../../common/pg-lock.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mpt_head (id int PRIMARY KEY CHECK (id = 1), secure boolean NOT NULL, seed_root bytea NOT NULL, revision bigint NOT NULL, root bytea NOT NULL);
CREATE TABLE IF NOT EXISTS mpt_entries (key bytea PRIMARY KEY, value bytea NOT NULL CHECK (length(value) > 0));`;

export class PostgresMptStore implements MptStore {
  readonly description = "PostgreSQL trie store";
  private readonly pool: pg.Pool;
  private holder: pg.Client | null = null;
  private revision = -1;
  /** Why the advisory lock may no longer be ours (its connection went away), or null while it is. */
  private lockLost: string | null = null;
  private closing = false;

  constructor(private readonly url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
    this.pool.on("error", () => undefined); // an idle client's server went away: the next query says so
  }

  private async lock(): Promise<void> {
    if (this.holder) return;
    const c = new pg.Client({ connectionString: this.url });
    c.on("error", (e: Error) => (this.lockLost ??= `the connection holding its advisory lock failed (${e.message})`));
    c.on("end", () => {
      if (!this.closing) this.lockLost ??= "the connection holding its advisory lock closed";
    });
    await c.connect();
    const { rows } = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('meridian.mpt.store')) AS ok");
    if (!rows[0]!.ok) {
      await c.end();
      throw new MptStoreError(`${this.description}: another mpt serve holds this database's trie (PostgreSQL advisory lock); one writer per trie`);
    }
    this.holder = c;
  }

  async load(): Promise<StoredTrie | null> {
    await this.lock();
    await this.pool.query(SCHEMA).catch((e: { code?: string }) => {
      if (e.code !== "23505" && e.code !== "42P07") throw e; // concurrent CREATE TABLE IF NOT EXISTS
    });
    return inTransaction(
      this.pool,
      async (c) => {
        const h = await c.query<{ secure: boolean; seed_root: Buffer; revision: string; root: Buffer }>("SELECT secure, seed_root, revision, root FROM mpt_head WHERE id = 1");
        const entries = await c.query<{ key: Buffer; value: Buffer }>("SELECT key, value FROM mpt_entries");
        if (h.rows.length === 0) {
          if (entries.rows.length > 0) throw new MptStoreError(`${this.description}: mpt_entries holds ${entries.rows.length} rows but mpt_head is empty: not a store this service wrote`);
          return null;
        }
        const row = h.rows[0]!;
        this.revision = Number(row.revision);
        return { secure: row.secure, seedRoot: row.seed_root, revision: this.revision, root: row.root, entries: entries.rows as TrieEntry[], changes: [] };
      },
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    );
  }

  async init(seed: { secure: boolean; root: Uint8Array; entries: Iterable<TrieEntry> }): Promise<void> {
    const entries = [...seed.entries];
    await inTransaction(this.pool, async (c) => {
      const r = await c.query("INSERT INTO mpt_head (id, secure, seed_root, revision, root) VALUES (1, $1, $2, 0, $2) ON CONFLICT (id) DO NOTHING", [seed.secure, Buffer.from(seed.root)]);
      if (r.rowCount !== 1) throw new MptStoreError(`${this.description}: another writer started this database's trie meanwhile`);
      if (entries.length > 0)
        await c.query("INSERT INTO mpt_entries (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[])", [entries.map((e) => Buffer.from(e.key)), entries.map((e) => Buffer.from(e.value))]);
    });
    this.revision = 0;
  }

  async record(ch: MptChange): Promise<void> {
    if (this.lockLost) throw new MptStoreError(`${this.description}: ${this.lockLost}; another writer may hold the trie now`);
    if (ch.revision !== this.revision + 1) throw new MptStoreError(`${this.description} is at revision ${this.revision}; cannot record ${ch.revision}`);
    await inTransaction(this.pool, async (c) => {
      const key = Buffer.from(ch.trieKey);
      if (ch.value === null) await c.query("DELETE FROM mpt_entries WHERE key = $1", [key]);
      else await c.query("INSERT INTO mpt_entries (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [key, Buffer.from(ch.value)]);
      const r = await c.query("UPDATE mpt_head SET revision = $1, root = $2 WHERE id = 1 AND revision = $3", [ch.revision, Buffer.from(ch.root), ch.revision - 1]);
      if (r.rowCount !== 1) throw new MptStoreError(`${this.description}: the trie is no longer at revision ${ch.revision - 1}: another writer moved it`);
    });
    this.revision = ch.revision;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.pool.end();
    await endLockSession(this.holder);
    this.holder = null;
  }
}
