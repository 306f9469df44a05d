/**
 * The file store's duplicate index (antispam): leaf hash → index on disk, in 4,096 append-only bucket files
 * (`<dir>/<first 3 hex digits of the hash>`) of fixed 40-byte records (32-byte leaf hash, u64 index). A lookup
 * reads one bucket (up to 1,024 buckets stay open), so memory holds no records beyond those not yet written and
 * restart reads nothing proportional to the log. A bucket holds n/4,096 records (2.4 MB at 2.5×10^8 entries).
 *
 * The index is kept off the commit path: a commit only records its leaves in memory (lookups see them at once);
 * the store's sync appends them to their buckets (one write per bucket per sync, not per commit) before the tree
 * state covering them, without fsync. Every 2^18 records the buckets are fsynced and `covered` — the size below
 * which every committed entry's record is durable — is advanced. At start, records for [covered, state size) are
 * appended again from the level-0 tiles and the state's edge (at most 2^18 plus a sync interval: O(1) in log
 * size), and the journal replay adds the rest. A record lost, torn or garbled by a crash past `covered` is thus
 * restored, a torn tail is cut before the bucket's next append, and a repeated record is harmless (the latest
 * wins; the sequencer confirms every hit against the tree).
 */
import { open, readFile, rename, writeFile, type FileHandle } from "node:fs/promises";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HASH_SIZE, type Hash } from "../rfc6962.js";
import { LeafTable } from "../leaftable.js";
import { tilePath, TILE_WIDTH } from "../tiles.js";
import type { TreeState } from "./state.js";
import { CorruptStoreError } from "./journal.js";
import { fsyncDirectory } from "../../common/durable-file.js";

export const RECORD_SIZE = HASH_SIZE + 8;

/** The bucket number of the leaf hash at leaves[at]: its first 12 bits. */
const bucketAt = (leaves: Uint8Array, at: number): number => (leaves[at]! << 4) | (leaves[at + 1]! >>> 4);
const bucketName = (n: number): string => n.toString(16).padStart(3, "0");

/** Bucket file name of a leaf hash: its first 12 bits in hex. */
const bucketOf = (h: Hash): string => bucketName(bucketAt(h, 0));

export function encodeRecords(records: readonly { leaf: Hash; index: number }[]): Buffer {
  const b = Buffer.alloc(records.length * RECORD_SIZE);
  records.forEach((r, i) => {
    b.set(r.leaf, i * RECORD_SIZE);
    b.writeBigUInt64BE(BigInt(r.index), i * RECORD_SIZE + HASH_SIZE);
  });
  return b;
}

/** The index of the latest whole record for `leaf` in a bucket's bytes (a torn last record is ignored). */
export function findInBucket(bucket: Uint8Array, leaf: Hash): number | undefined {
  const b = Buffer.from(bucket.buffer, bucket.byteOffset, bucket.byteLength);
  const want = Buffer.from(leaf);
  for (let at = Math.floor(b.length / RECORD_SIZE) * RECORD_SIZE - RECORD_SIZE; at >= 0; at -= RECORD_SIZE) {
    if (b.compare(want, 0, HASH_SIZE, at, at + HASH_SIZE) === 0) return Number(b.readBigUInt64BE(at + HASH_SIZE));
  }
  return undefined;
}

/** Run `fn` over `items`, at most 64 at a time (a batch can touch all 4,096 buckets: stay clear of EMFILE). */
async function inChunks<T>(items: readonly T[], fn: (t: T) => Promise<void>, width = 64): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/**
 * Background index work runs two file operations at a time: libuv has four threads for all file I/O, and the
 * journal write that acknowledges entries must not queue behind thousands of bucket writes or fsyncs.
 */
const BACKGROUND_WIDTH = 2;

/** Bucket files: one per value of a leaf hash's first 12 bits. */
const BUCKETS = 4096;
/**
 * Bucket files kept open (reads and appends then cost one syscall, not open/read/close): all of them when the
 * process may hold four times as many descriptors, else 1,024. A write-out touches every bucket in order, so an
 * LRU smaller than 4,096 missed on every one: each write-out opened, stat'ed and closed ~4,096 files.
 */
const OPEN_BUCKETS = openFileLimit() >= 4 * BUCKETS ? BUCKETS : 1024;

/** The process's soft limit on open files (Linux; node raises it to the hard limit at start), or 0 if unknown. */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m ? (m[1] === "unlimited" ? Infinity : Number(m[1])) : 0;
  } catch {
    return 0;
  }
}

/** Records held in memory before they are appended to their buckets (in the background). */
const WRITE_RECORDS = 1 << 16;
/** Records appended since the buckets were last fsynced before they are fsynced and `covered` advances. */
const FLUSH_RECORDS = 1 << 18;

/** Leaf hashes are kept packed, 32 bytes each, as the commits hand them over: no object per record for the GC to keep. */
interface Pending {
  table: LeafTable;
  batches: { first: number; leaves: Uint8Array }[];
  count: number;
}
const emptyPending = (): Pending => ({ table: new LeafTable(WRITE_RECORDS, true), batches: [], count: 0 });

export class FileLeafIndex {
  /** Open buckets, least recently used first; a torn tail is cut when a bucket is first opened. */
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private dirty = new Set<string>();
  /** Committed records not yet appended to their buckets, and those being appended (lookups consult both). */
  private pending = emptyPending();
  private writing: Pending | null = null;
  private unflushed = 0;
  private covered = 0;
  /** One past the highest index added. */
  private addedEnd = 0;
  private background: Promise<void> | null = null;

  /** `durableSize`: the size of the tree state on disk (`covered` never passes it). */
  constructor(
    private readonly dir: string,
    private readonly durableSize: () => number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  private get coveredPath(): string {
    return join(this.dir, "covered");
  }

  /**
   * Read `covered` (absent: the index was last written by a version that fsynced every record before the state,
   * so the state's size) and append again the records of [covered, state size) from the level-0 tiles under
   * `publicDir` and the state's edge.
   */
  async open(state: TreeState | null, publicDir: string): Promise<void> {
    const size = state?.size ?? 0;
    const covered = existsSync(this.coveredPath) ? Number(readFileSync(this.coveredPath, "utf8").trim()) : size;
    this.covered = Number.isSafeInteger(covered) && covered >= 0 ? Math.min(covered, size) : 0;
    for (let n = Math.floor(this.covered / TILE_WIDTH); n * TILE_WIDTH < size; n++) {
      const full = (n + 1) * TILE_WIDTH <= size;
      const path = join(publicDir, tilePath({ level: 0, index: n, width: TILE_WIDTH }));
      const tile = full
        ? await readFile(path).catch((e: Error) => Promise.reject(new CorruptStoreError(`${path}, below the tree state's size ${size}, cannot be read to restore the duplicate index: ${e.message}`)))
        : state!.edge.tiles[0]!;
      const from = Math.max(this.covered, n * TILE_WIDTH);
      const to = Math.min(size, (n + 1) * TILE_WIDTH);
      this.add(from, from < to ? tile.subarray((from - n * TILE_WIDTH) * HASH_SIZE, (to - n * TILE_WIDTH) * HASH_SIZE) : new Uint8Array(0)); // (an empty edge: no tile)
    }
    this.addedEnd = Math.max(this.addedEnd, size);
    if (!existsSync(this.coveredPath)) await this.writeCovered(this.covered);
  }

  private async writeCovered(size: number): Promise<void> {
    await writeFile(`${this.coveredPath}.tmp`, `${size}\n`, { flush: true });
    await rename(`${this.coveredPath}.tmp`, this.coveredPath);
    await fsyncDirectory(this.dir);
    this.covered = size;
  }

  private handle(k: string): Promise<FileHandle> {
    let h = this.handles.get(k);
    if (h) this.handles.delete(k);
    else {
      h = open(join(this.dir, k), "a+").then(async (fh) => {
        const { size } = await fh.stat();
        if (size % RECORD_SIZE !== 0) await fh.truncate(size - (size % RECORD_SIZE));
        return fh;
      });
      h.catch(() => this.handles.delete(k));
    }
    this.handles.set(k, h);
    if (this.handles.size > OPEN_BUCKETS) {
      const [oldest, fh] = this.handles.entries().next().value as [string, Promise<FileHandle>];
      this.handles.delete(oldest);
      // close() waits for operations in flight; a dirty bucket is flushed by path.
      void fh.then((f) => f.close()).catch(() => undefined);
    }
    return h;
  }

  /**
   * Record the leaf hashes packed in `leaves` (32 bytes each; the caller never changes them) → `first`, `first + 1`, …:
   * in memory (lookups see them at once) until 2^16 wait, then written in the background.
   */
  add(first: number, leaves: Uint8Array): void {
    const n = leaves.length / HASH_SIZE;
    if (n === 0) return this.committed(first);
    const p = this.pending;
    for (let i = 0; i < n; i++) p.table.set(leaves, first + i, i * HASH_SIZE);
    p.batches.push({ first, leaves });
    p.count += n;
    this.committed(first + n);
  }

  /**
   * Entries below `end` are committed (with their records added, or none: duplicate detection off). `covered`
   * then advances every 2^18 entries even without records, so a restart never re-reads more than that.
   */
  committed(end: number): void {
    this.addedEnd = Math.max(this.addedEnd, end);
    const due = this.pending.count >= WRITE_RECORDS || Math.min(this.addedEnd, this.durableSize()) - this.covered >= FLUSH_RECORDS;
    if (due && !this.background) {
      this.background = this.writeBehind()
        .catch(() => undefined) // the records stay in memory; the next round (or close) tries again
        .finally(() => (this.background = null));
    }
  }

  private async writeBehind(): Promise<void> {
    const end = this.addedEnd;
    await this.writeOut();
    if (this.unflushed >= FLUSH_RECORDS || Math.min(end, this.durableSize()) - this.covered >= FLUSH_RECORDS) await this.flushTo(end);
  }

  /** fsync what was written, then advance `covered` to `end` (every record below it was written) or the durable size if lower. */
  private async flushTo(end: number): Promise<void> {
    await this.flush();
    this.unflushed = 0;
    const to = Math.max(this.covered, Math.min(end, this.durableSize()));
    if (to !== this.covered || !existsSync(this.coveredPath)) await this.writeCovered(to);
  }

  /** Append the records added so far to their buckets (not fsynced: see `flush`). */
  private async writeOut(): Promise<void> {
    const p = this.pending;
    if (p.count === 0) return;
    this.writing = p;
    this.pending = emptyPending();
    try {
      // Records grouped by bucket with a counting sort into one buffer (each bucket's in index order).
      const ends = new Uint32Array(BUCKETS + 1);
      for (const { leaves } of p.batches) for (let at = 0; at < leaves.length; at += HASH_SIZE) ends[bucketAt(leaves, at) + 1]!++;
      for (let k = 0; k < BUCKETS; k++) ends[k + 1]! += ends[k]!;
      const next = ends.slice(0, BUCKETS);
      const out = Buffer.allocUnsafe(p.count * RECORD_SIZE);
      for (const { first, leaves } of p.batches) {
        for (let i = 0, at = 0; at < leaves.length; i++, at += HASH_SIZE) {
          const o = next[bucketAt(leaves, at)]!++ * RECORD_SIZE;
          out.set(leaves.subarray(at, at + HASH_SIZE), o);
          out.writeBigUInt64BE(BigInt(first + i), o + HASH_SIZE);
        }
      }
      const touched: number[] = [];
      for (let k = 0; k < BUCKETS; k++) if (ends[k + 1]! > ends[k]!) touched.push(k);
      await inChunks(
        touched,
        async (k) => {
          const name = bucketName(k);
          await (await this.handle(name)).write(out.subarray(ends[k]! * RECORD_SIZE, ends[k + 1]! * RECORD_SIZE));
          this.dirty.add(name);
        },
        BACKGROUND_WIDTH,
      );
      this.unflushed += p.count;
    } catch (e) {
      // Keep them for the next attempt (the caller fails its sync).
      for (const b of p.batches) this.add(b.first, b.leaves);
      throw e;
    } finally {
      this.writing = null;
    }
  }

  async find(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    // A record still in memory is newer than any in its bucket, so it is the answer (records are never taken back).
    const inMemory = leaves.map((h) => this.pending.table.get(h) ?? this.writing?.table.get(h));
    const buckets = new Map<string, Promise<Uint8Array | null>>();
    leaves.forEach((h, i) => {
      const k = bucketOf(h);
      if (inMemory[i] === undefined && !buckets.has(k)) buckets.set(k, this.readBucket(k));
    });
    return Promise.all(
      leaves.map(async (h, i) => {
        if (inMemory[i] !== undefined) return inMemory[i];
        const b = await buckets.get(bucketOf(h))!;
        return b ? findInBucket(b, h) : undefined;
      }),
    );
  }

  private async readBucket(k: string): Promise<Uint8Array | null> {
    if (!this.handles.has(k) && !existsSync(join(this.dir, k))) return null; // not yet created: do not create it on a read
    const fh = await this.handle(k);
    const { size } = await fh.stat();
    const buf = Buffer.allocUnsafe(size);
    const { bytesRead } = await fh.read(buf, 0, size, 0);
    return buf.subarray(0, bytesRead);
  }

  /** Make every record appended so far durable. */
  private async flush(): Promise<void> {
    const keys = [...this.dirty];
    this.dirty = new Set();
    await inChunks(
      keys,
      async (k) => {
        // On its open handle when it has one (all of them, with descriptors to spare): one call, not open/datasync/close.
        // (Evicted and closed meanwhile — EBADF, nothing written through it lost — it is synced by path as below.)
        const kept = this.handles.get(k);
        if (kept) {
          try {
            return await (await kept).datasync();
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EBADF") throw e;
          }
        }
        const fh = await open(join(this.dir, k), "r");
        await fh.datasync();
        await fh.close();
      },
      BACKGROUND_WIDTH,
    );
    if (keys.length > 0) {
      const d = await open(this.dir, "r"); // new buckets' directory entries
      await d.sync();
      await d.close();
    }
  }

  /** Write and fsync what is held in memory (so the next start re-reads little), then close the buckets. */
  async close(): Promise<void> {
    await this.background;
    try {
      const end = this.addedEnd;
      await this.writeOut();
      await this.flushTo(end);
    } catch {
      // Nothing is lost: the next start appends [covered, size) again from the tiles.
    }
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((f) => f.close()).catch(() => undefined)));
  }
}
