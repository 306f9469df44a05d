/**
 * PostgreSQL map store, in its own schema (default `meridian_vmap`): `vmap_heads(map, revision, root, log_index)` and
 * `vmap_values(map, key, value)`. One writer per schema: the store holds a session advisory lock on a connection of
 * its own for its lifetime (a second writer waits `lockWaitMs`, then is refused naming why), and once that connection
 * is lost — PostgreSQL restarted, the session killed, the network gone, so another writer may hold the lock now —
 * every write is refused; the service then refuses writes until a restart catches up from the log. Each batch is one
 * transaction that also checks the lock is still held by that session (pg_locks), with its value upserts and deletes
 * and the head update fenced on the previous revision. Restart reads the head and the map's values.
 *
 * A store in a new schema starts empty: the service rebuilds it from the log (the log is the source of truth), so
 * tables an earlier release kept in the database's default schema are not needed.
 */
import pg from "pg";
import { inTransaction } from "../../common/pg-tx.js";
import type { MapWrite } from "../map.js";
import { treeKey } from "../map.js";
import { MapStoreError, type LoggedBatch, type MapStore, type StoredMap } from "./port.js";
import { endLockSession } from "../../common/pg-lock.js";

export interface PostgresMapStoreOptions {
  /** Schema holding the tables (created if missing); one writer per schema. */
  schema?: string;
  /** How long to wait for another writer to let go of the schema (ms). */
  lockWaitMs?: number;
}

const tables = (s: string) => [
  `CREATE SCHEMA IF NOT EXISTS ${s}`,
  `CREATE TABLE IF NOT EXISTS ${s}.vmap_heads (map text PRIMARY KEY, revision bigint NOT NULL, root bytea NOT NULL, log_index bigint)`,
  `CREATE TABLE IF NOT EXISTS ${s}.vmap_values (map text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (map, key))`,
];

/** A batch's net effect per key (a key written twice keeps its last value). */
function netWrites(writes: readonly MapWrite[]): { set: [Buffer, Buffer][]; del: Buffer[] } {
  const last = new Map<string, MapWrite>();
  for (const w of writes) last.set(w[0], w);
  const set: [Buffer, Buffer][] = [];
  const del: Buffer[] = [];
  for (const [k, v] of last.values()) {
    if (v === null) del.push(treeKey(k));
    else set.push([treeKey(k), Buffer.from(v)]);
  }
  return { set, del };
}

export class PostgresMapStore implements MapStore {
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly s: string;
  private ready: Promise<void> | null = null;
  private lock: { client: pg.Client; pid: number } | null = null;
  /** Why writes are refused: the lock's connection was lost. */
  private lost: string | null = null;
  private closing = false;

  constructor(
    private readonly url: string,
    private readonly o: PostgresMapStoreOptions = {},
  ) {
    const schema = o.schema ?? "meridian_vmap";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new MapStoreError(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    this.description = `PostgreSQL map store (schema ${schema})`;
    this.pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 5_000 });
    this.pool.on("error", () => undefined);
  }

  /** Take the writer lock, then create the schema and tables if missing. */
  private open(): Promise<void> {
    this.ready ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
      client.on("error", (e) => this.loseLock(`its connection failed: ${e.message}`));
      await client.connect();
      const deadline = Date.now() + (this.o.lockWaitMs ?? 15_000);
      for (;;) {
        const r = await client.query<{ ok: boolean; pid: number }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok, pg_backend_pid() AS pid", [`meridian-vmap-${this.s}`]);
        if (r.rows[0]!.ok) {
          this.lock = { client, pid: r.rows[0]!.pid };
          break;
        }
        if (Date.now() > deadline) {
          await client.end().catch(() => undefined);
          throw new MapStoreError(`another map service holds schema ${this.s} (PostgreSQL advisory lock); one writer per schema`);
        }
        await new Promise((res) => setTimeout(res, 200));
      }
      client.on("end", () => this.loseLock("its connection ended"));
      for (const sql of tables(this.s))
        await this.pool.query(sql).catch((e: { code?: string }) => {
          if (e.code !== "23505" && e.code !== "42P07" && e.code !== "42P06") throw e; // concurrent CREATE … IF NOT EXISTS
        });
    })();
    return this.ready;
  }

  private loseLock(why: string): void {
    if (this.closing || this.lost) return;
    this.lost = `${this.description}: the writer lock was lost (${why}); another writer may hold the schema now, so writes are refused — restart the service`;
  }

  async load(map: string): Promise<StoredMap | null> {
    await this.open();
    const h = await this.pool.query<{ revision: string; root: Buffer; log_index: string | null }>(`SELECT revision, root, log_index FROM ${this.s}.vmap_heads WHERE map = $1`, [map]);
    if (h.rows.length === 0) return null;
    const v = await this.pool.query<{ key: Buffer; value: Buffer }>(`SELECT key, value FROM ${this.s}.vmap_values WHERE map = $1`, [map]);
    const row = h.rows[0]!;
    return { head: { revision: Number(row.revision), root: row.root, logIndex: row.log_index === null ? null : Number(row.log_index) }, values: v.rows, batches: [] };
  }

  async record(b: LoggedBatch): Promise<void> {
    await this.open();
    if (this.lost) throw new MapStoreError(this.lost);
    const s = this.s;
    const { set, del } = netWrites(b.entry.writes);
    // inTransaction: a client whose connection fails mid-transaction is listened to, rolled back or dropped (common/pg-tx.ts).
    await inTransaction(this.pool, async (c) => {
      // The fence: the lock's session still holds it (a session that died released it, and another writer may have it).
      const held = await c.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND granted", [this.lock!.pid]);
      if (held.rowCount === 0) {
        this.loseLock(`session ${this.lock!.pid} no longer holds it`);
        throw new MapStoreError(this.lost!);
      }
      if (set.length > 0) {
        await c.query(`INSERT INTO ${s}.vmap_values (map, key, value) SELECT $1, * FROM unnest($2::bytea[], $3::bytea[]) ON CONFLICT (map, key) DO UPDATE SET value = EXCLUDED.value`, [
          b.entry.map,
          set.map((x) => x[0]),
          set.map((x) => x[1]),
        ]);
      }
      if (del.length > 0) await c.query(`DELETE FROM ${s}.vmap_values WHERE map = $1 AND key = ANY($2::bytea[])`, [b.entry.map, del]);
      const root = Buffer.from(b.entry.root);
      const r =
        b.entry.revision === 1
          ? await c.query(`INSERT INTO ${s}.vmap_heads (map, revision, root, log_index) VALUES ($1, 1, $2, $3) ON CONFLICT (map) DO NOTHING`, [b.entry.map, root, b.logIndex])
          : await c.query(`UPDATE ${s}.vmap_heads SET revision = $2, root = $3, log_index = $4 WHERE map = $1 AND revision = $5`, [
              b.entry.map,
              b.entry.revision,
              root,
              b.logIndex,
              b.entry.revision - 1,
            ]);
      if (r.rowCount !== 1) throw new MapStoreError(`${this.description}: map ${b.entry.map} is no longer at revision ${b.entry.revision - 1}: another writer moved it`);
    });
  }

  refusal(): string | null {
    return this.lost;
  }

  /** For /readyz: true while the writer lock is held. */
  async ping(): Promise<true | string> {
    if (this.lost) return this.lost;
    if (!this.lock) return "not open";
    try {
      await this.lock.client.query("SELECT 1");
      return true;
    } catch (e) {
      this.loseLock((e as Error).message);
      return this.lost ?? (e as Error).message;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.ready?.catch(() => undefined);
    await endLockSession(this.lock?.client);
    this.lock = null;
    await this.pool.end();
  }
}
