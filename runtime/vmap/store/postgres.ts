/**
 * PostgreSQL map store: `vmap_heads(map, revision, root, log_index)` and `vmap_values(map, key, value)`. A batch is
 * one transaction — its value upserts and deletes and the head update fenced on the previous revision, so a second
 * writer for the same map fails instead of interleaving. Restart reads the head and the map's values.
 */
import pg from "pg";
import type { MapWrite } from "../map.js";
import { treeKey } from "../map.js";
import { MapStoreError, type LoggedBatch, type MapStore, type StoredMap } from "./port.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS vmap_heads (map text PRIMARY KEY, revision bigint NOT NULL, root bytea NOT NULL, log_index bigint);
CREATE TABLE IF NOT EXISTS vmap_values (map text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (map, key));`;

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
  private ready: Promise<void> | null = null;

  constructor(url: string) {
    this.description = "PostgreSQL map store";
    this.pool = new pg.Pool({ connectionString: url, max: 2 });
  }

  private schema(): Promise<void> {
    this.ready ??= this.pool.query(SCHEMA).then(
      () => undefined,
      (e: { code?: string }) => {
        if (e.code !== "23505" && e.code !== "42P07") throw e; // concurrent CREATE TABLE IF NOT EXISTS
      },
    );
    return this.ready;
  }

  async load(map: string): Promise<StoredMap | null> {
    await this.schema();
    const h = await this.pool.query<{ revision: string; root: Buffer; log_index: string | null }>("SELECT revision, root, log_index FROM vmap_heads WHERE map = $1", [map]);
    if (h.rows.length === 0) return null;
    const v = await this.pool.query<{ key: Buffer; value: Buffer }>("SELECT key, value FROM vmap_values WHERE map = $1", [map]);
    const row = h.rows[0]!;
    return { head: { revision: Number(row.revision), root: row.root, logIndex: row.log_index === null ? null : Number(row.log_index) }, values: v.rows, batches: [] };
  }

  async record(b: LoggedBatch): Promise<void> {
    const { set, del } = netWrites(b.entry.writes);
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      if (set.length > 0) {
        await c.query("INSERT INTO vmap_values (map, key, value) SELECT $1, * FROM unnest($2::bytea[], $3::bytea[]) ON CONFLICT (map, key) DO UPDATE SET value = EXCLUDED.value", [
          b.entry.map,
          set.map((s) => s[0]),
          set.map((s) => s[1]),
        ]);
      }
      if (del.length > 0) await c.query("DELETE FROM vmap_values WHERE map = $1 AND key = ANY($2::bytea[])", [b.entry.map, del]);
      const root = Buffer.from(b.entry.root);
      const r =
        b.entry.revision === 1
          ? await c.query("INSERT INTO vmap_heads (map, revision, root, log_index) VALUES ($1, 1, $2, $3) ON CONFLICT (map) DO NOTHING", [b.entry.map, root, b.logIndex])
          : await c.query("UPDATE vmap_heads SET revision = $2, root = $3, log_index = $4 WHERE map = $1 AND revision = $5", [b.entry.map, b.entry.revision, root, b.logIndex, b.entry.revision - 1]);
      if (r.rowCount !== 1) throw new MapStoreError(`${this.description}: map ${b.entry.map} is no longer at revision ${b.entry.revision - 1}: another writer moved it`);
      await c.query("COMMIT");
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
