/**
 * PostgreSQL store for production: entries in `prooflog_entries(origin, idx, data)` keyed by (origin, idx), the
 * latest checkpoint in `prooflog_checkpoints`. A batch is one multi-row INSERT in one transaction, so it is
 * durable (synchronous_commit) and all-or-nothing when `append` resolves; the primary key rejects a second
 * writer that tries to sequence the same index.
 */
import pg from "pg";
import type { LogStore } from "./store.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS prooflog_entries (origin text NOT NULL, idx bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (origin, idx));
CREATE TABLE IF NOT EXISTS prooflog_checkpoints (origin text PRIMARY KEY, note text NOT NULL);`;

export class PostgresStore implements LogStore {
  private readonly pool: pg.Pool;
  private size = 0;

  constructor(
    url: string,
    private readonly origin: string,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max: 4 });
  }

  async open(onEntry: (entry: Uint8Array, index: number) => void): Promise<{ size: number; checkpoint: string | null }> {
    await this.pool.query(SCHEMA);
    const page = 10_000;
    for (;;) {
      const r = await this.pool.query<{ idx: string; data: Buffer }>(
        "SELECT idx, data FROM prooflog_entries WHERE origin = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
        [this.origin, this.size, page],
      );
      for (const row of r.rows) {
        if (Number(row.idx) !== this.size) throw new Error(`prooflog_entries for ${this.origin} has a gap at index ${this.size}`);
        onEntry(row.data, this.size++);
      }
      if (r.rows.length < page) break;
    }
    const cp = await this.pool.query<{ note: string }>("SELECT note FROM prooflog_checkpoints WHERE origin = $1", [this.origin]);
    return { size: this.size, checkpoint: cp.rows[0]?.note ?? null };
  }

  async append(entries: readonly Uint8Array[], firstIndex: number): Promise<void> {
    if (firstIndex !== this.size) throw new Error(`append at ${firstIndex} but the store holds ${this.size} entries`);
    const idx = entries.map((_e, i) => String(firstIndex + i));
    await this.pool.query("INSERT INTO prooflog_entries (origin, idx, data) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])", [
      this.origin,
      idx,
      entries.map((e) => Buffer.from(e)),
    ]);
    this.size += entries.length;
  }

  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    if (end > this.size) throw new RangeError(`entries [${start}, ${end}) beyond size ${this.size}`);
    const r = await this.pool.query<{ data: Buffer }>("SELECT data FROM prooflog_entries WHERE origin = $1 AND idx >= $2 AND idx < $3 ORDER BY idx", [
      this.origin,
      start,
      end,
    ]);
    return r.rows.map((row) => row.data);
  }

  async saveCheckpoint(note: string): Promise<void> {
    await this.pool.query(
      "INSERT INTO prooflog_checkpoints (origin, note) VALUES ($1, $2) ON CONFLICT (origin) DO UPDATE SET note = EXCLUDED.note",
      [this.origin, note],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
