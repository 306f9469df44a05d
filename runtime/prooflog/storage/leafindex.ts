/**
 * The file store's duplicate index (antispam): leaf hash → index on disk, in 4,096 append-only bucket files
 * (`<dir>/<first 3 hex digits of the hash>`) of fixed 40-byte records (32-byte leaf hash, u64 index). A commit
 * appends one write per bucket it touches; a lookup reads one bucket (up to 1,024 buckets stay open), so memory
 * holds no records and restart reads nothing. A bucket holds n/4,096 records (2.4 MB at 2.5×10^8 entries).
 *
 * Crash safety comes from the order of writes, not from atomicity: records are appended only after the entries'
 * journal record is durable (so an index never names an entry that was not), `sync` fsyncs them before the tree
 * state that covers them, and the journal replay at start appends the replayed entries' records again. A record
 * torn by a crash is cut off before the bucket's next append; a repeated record is harmless (the latest wins).
 */
import { open, type FileHandle } from "node:fs/promises";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { HASH_SIZE, type Hash } from "../rfc6962.js";

export const RECORD_SIZE = HASH_SIZE + 8;

/** Bucket file name of a leaf hash: its first 12 bits in hex. */
export const bucketOf = (h: Hash): string => Buffer.from(h.subarray(0, 2)).toString("hex").slice(0, 3);

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
async function inChunks<T>(items: readonly T[], fn: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 64) await Promise.all(items.slice(i, i + 64).map(fn));
}

/** Bucket files kept open (reads and appends then cost one syscall, not open/read/close): at most this many. */
const OPEN_BUCKETS = 1024;

export class FileLeafIndex {
  /** Open buckets, least recently used first; a torn tail is cut when a bucket is first opened. */
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private dirty = new Set<string>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
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

  /** Append records for `leaves[i]` → `first + i`. */
  async add(first: number, leaves: readonly Hash[]): Promise<void> {
    const byBucket = new Map<string, { leaf: Hash; index: number }[]>();
    leaves.forEach((leaf, i) => {
      const k = bucketOf(leaf);
      let list = byBucket.get(k);
      if (!list) byBucket.set(k, (list = []));
      list.push({ leaf, index: first + i });
    });
    await inChunks([...byBucket], async ([k, records]) => {
      await (await this.handle(k)).write(encodeRecords(records));
      this.dirty.add(k);
    });
  }

  async find(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    const buckets = new Map<string, Promise<Uint8Array | null>>();
    for (const h of leaves) {
      const k = bucketOf(h);
      if (!buckets.has(k)) buckets.set(k, this.readBucket(k));
    }
    return Promise.all(
      leaves.map(async (h) => {
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

  /** Make every record appended so far durable (before the tree state that covers them is written). */
  async flush(): Promise<void> {
    const keys = [...this.dirty];
    this.dirty = new Set();
    await inChunks(keys, async (k) => {
      const fh = await open(join(this.dir, k), "r");
      await fh.datasync();
      await fh.close();
    });
    if (keys.length > 0) {
      const d = await open(this.dir, "r"); // new buckets' directory entries
      await d.sync();
      await d.close();
    }
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((f) => f.close()).catch(() => undefined)));
  }
}
