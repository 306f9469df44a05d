/**
 * The file store's duplicate index (antispam): leaf hash → index on disk, in 4,096 append-only bucket files
 * (`<dir>/<first 3 hex digits of the hash>`) of fixed 40-byte records (32-byte leaf hash, u64 index). A commit
 * appends one write per bucket it touches; a lookup reads one bucket, so memory is nothing and restart reads
 * nothing. A bucket holds n/4,096 records (2.4 MB at 2.5×10^8 entries).
 *
 * Crash safety comes from the order of writes, not from atomicity: records are appended only after the entries'
 * journal record is durable (so an index never names an entry that was not), `sync` fsyncs them before the tree
 * state that covers them, and the journal replay at start appends the replayed entries' records again. A record
 * torn by a crash is cut off before the bucket's next append; a repeated record is harmless (the latest wins).
 */
import { open, readFile, truncate } from "node:fs/promises";
import { mkdirSync } from "node:fs";
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

export class FileLeafIndex {
  /** Buckets whose torn tail (if any) was cut this process, and buckets written since the last flush. */
  private readonly checked = new Set<string>();
  private dirty = new Set<string>();

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
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
        const path = join(this.dir, k);
        const fh = await open(path, "a");
        try {
          if (!this.checked.has(k)) {
            const { size } = await fh.stat();
            if (size % RECORD_SIZE !== 0) await truncate(path, size - (size % RECORD_SIZE));
            this.checked.add(k);
          }
          await fh.write(encodeRecords(records));
        } finally {
          await fh.close();
        }
        this.dirty.add(path);
    });
  }

  async find(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    const buckets = new Map<string, Promise<Uint8Array | null>>();
    for (const h of leaves) {
      const k = bucketOf(h);
      if (!buckets.has(k)) buckets.set(k, readFile(join(this.dir, k)).catch(() => null));
    }
    return Promise.all(leaves.map(async (h) => {
      const b = await buckets.get(bucketOf(h))!;
      return b ? findInBucket(b, h) : undefined;
    }));
  }

  /** Make every record appended so far durable (before the tree state that covers them is written). */
  async flush(): Promise<void> {
    const paths = [...this.dirty];
    this.dirty = new Set();
    await inChunks(paths, async (p) => {
      const fh = await open(p, "r");
      await fh.datasync();
      await fh.close();
    });
    if (paths.length > 0) {
      const d = await open(this.dir, "r"); // new buckets' directory entries
      await d.sync();
      await d.close();
    }
  }
}
