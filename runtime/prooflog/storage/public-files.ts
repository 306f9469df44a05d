/**
 * The file store's unsynced writes (storage/file.ts): public tiles and bundles are written as they complete and
 * made durable together at the next sync. They are written on raw descriptors with callback `fs` calls (no
 * FileHandle promise per call), and a file's descriptor is kept open until that flush, so its fdatasync needs no
 * second open/close: fewer hand-offs to libuv's thread pool, whose four threads the journal's synced writes share.
 */
import { close, fdatasync, mkdirSync, open, write } from "node:fs";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { fsyncDirectory } from "../../common/durable-file.js";

export const openFile = promisify(open);
export const closeFile = promisify(close);
const datasync = promisify(fdatasync);
/** Files written since the last flush kept open until it: at most this many (past it the flush opens them again). */
const OPEN_DIRTY = 256;

/** Write all of `data` at the descriptor's position, continuing a short write (on an O_APPEND journal lane with one write in flight, the record stays contiguous). */
export function writeAll(fd: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => writeFrom(fd, data, 0, resolve, reject));
}

/** (A function of its own, not a closure made per call.) */
function writeFrom(fd: number, data: Uint8Array, at: number, resolve: () => void, reject: (e: unknown) => void): void {
  write(fd, data, at, data.length - at, null, (e, n) => {
    if (e) reject(e);
    else if (at + n < data.length) writeFrom(fd, data, at + n, resolve, reject);
    else resolve();
  });
}

export class DirtyFiles {
  /** Files written since the last flush, with the descriptor they were written on while it is kept open. */
  private files = new Map<string, number | null>();
  private open = 0;
  private dirs = new Set<string>();

  get size(): number {
    return this.files.size;
  }

  /** Write `file` (replacing it), not synced. */
  async write(file: string, data: Uint8Array): Promise<void> {
    const d = dirname(file);
    if (!this.dirs.has(d)) mkdirSync(d, { recursive: true });
    const fd = await openFile(file, "w");
    try {
      await writeAll(fd, data);
    } catch (e) {
      await closeFile(fd).catch(() => undefined);
      throw e;
    }
    // One descriptor per file is enough for its fdatasync.
    if (this.files.get(file) != null || this.open >= OPEN_DIRTY) {
      await closeFile(fd);
      if (!this.files.has(file)) this.files.set(file, null);
    } else {
      this.files.set(file, fd);
      this.open++;
    }
    this.dirs.add(d);
  }

  /** fdatasync the files written since the last flush, then their directories. */
  async flush(): Promise<void> {
    const files = [...this.files];
    const dirs = [...this.dirs];
    this.files = new Map();
    this.open = 0;
    this.dirs = new Set();
    const results = await Promise.allSettled(
      files.map(async ([f, kept]) => {
        const fd = kept ?? (await openFile(f, "r"));
        try {
          await datasync(fd);
        } finally {
          await closeFile(fd);
        }
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    await Promise.all(dirs.map(fsyncDirectory));
  }

  /** Close the descriptors kept open, without syncing (as closing the store never did). */
  async close(): Promise<void> {
    for (const fd of this.files.values()) if (fd !== null) await closeFile(fd).catch(() => undefined);
    this.files = new Map();
    this.open = 0;
  }
}
