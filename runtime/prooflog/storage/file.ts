/**
 * The embedded file store (the default): one append-only file of framed records
 *   u32 length ‖ u32 CRC-32 of the entry ‖ entry bytes
 * written a whole batch per write and fdatasync'ed before `append` resolves (group commit: one sync per batch,
 * not per entry). After a crash the tail may hold a torn record; recovery stops at the first record whose frame
 * or CRC is wrong and truncates there. Everything acknowledged was synced before the tear, so it survives.
 * The latest checkpoint is written to a temporary file, synced, and renamed over `checkpoint` (atomic replace).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open, rename, writeFile, readFile, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import type { LogStore } from "./store.js";

const HEADER = 8;
const READ_CHUNK = 1 << 20;
/** Directories this process has open: a second sequencer on the same file would interleave batches. */
const openDirs = new Set<string>();

/**
 * Claim the directory with a LOCK file naming our pid. A lock left by a process that no longer exists (kill -9)
 * is taken over; one held by a live process is refused.
 */
function lockDir(dir: string): void {
  const path = join(dir, "LOCK");
  if (openDirs.has(resolve(dir))) throw new Error(`data directory ${dir} is already open in this process`);
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    if (pid && pid !== process.pid && isAlive(pid)) throw new Error(`data directory ${dir} is in use by process ${pid}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  writeFileSync(path, `${process.pid}\n`);
  openDirs.add(resolve(dir));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class FileStore implements LogStore {
  private fh: FileHandle | null = null;
  /** Byte offset of record i's header; offsets[size] is the end of the file. */
  private offsets = new Float64Array(1024);
  private size = 0;

  constructor(private readonly dir: string) {}

  private get entriesPath(): string {
    return join(this.dir, "entries");
  }

  private pushOffset(at: number): void {
    if (this.size + 1 >= this.offsets.length) {
      const bigger = new Float64Array(this.offsets.length * 2);
      bigger.set(this.offsets);
      this.offsets = bigger;
    }
    this.offsets[this.size + 1] = at;
  }

  async open(onEntry: (entry: Uint8Array, index: number) => void): Promise<{ size: number; checkpoint: string | null }> {
    mkdirSync(this.dir, { recursive: true });
    lockDir(this.dir);
    this.fh = await open(this.entriesPath, "a+");
    const { size: fileSize } = await this.fh.stat();
    let pos = 0;
    let pending = Buffer.alloc(0);
    let filePos = 0;
    // Stream the file in chunks, carrying a partial record across chunk boundaries.
    while (filePos < fileSize) {
      const chunk = Buffer.alloc(Math.min(READ_CHUNK, fileSize - filePos));
      const { bytesRead } = await this.fh.read(chunk, 0, chunk.length, filePos);
      filePos += bytesRead;
      pending = pending.length ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let at = 0;
      while (at + HEADER <= pending.length) {
        const len = pending.readUInt32BE(at);
        if (at + HEADER + len > pending.length) break;
        const entry = pending.subarray(at + HEADER, at + HEADER + len);
        if (crc32(entry) !== pending.readUInt32BE(at + 4)) {
          filePos = fileSize; // corrupt frame: treat the rest as a torn tail
          break;
        }
        onEntry(entry, this.size);
        pos += HEADER + len;
        this.pushOffset(pos);
        this.size++;
        at += HEADER + len;
      }
      pending = pending.subarray(at);
    }
    if (pos < fileSize) {
      // Torn tail from a crash mid-batch: nothing in it was acknowledged.
      await this.fh.truncate(pos);
      await this.fh.sync();
    }
    await this.fh.close();
    this.fh = await open(this.entriesPath, "r+");
    const checkpoint = await readFile(join(this.dir, "checkpoint"), "utf8").catch(() => null);
    return { size: this.size, checkpoint };
  }

  async append(entries: readonly Uint8Array[], firstIndex: number): Promise<void> {
    if (!this.fh) throw new Error("store is not open");
    if (firstIndex !== this.size) throw new Error(`append at ${firstIndex} but the store holds ${this.size} entries`);
    let total = 0;
    for (const e of entries) total += HEADER + e.length;
    const buf = Buffer.allocUnsafe(total);
    let at = 0;
    for (const e of entries) {
      buf.writeUInt32BE(e.length, at);
      buf.writeUInt32BE(crc32(e), at + 4);
      buf.set(e, at + HEADER);
      at += HEADER + e.length;
    }
    const start = this.offsets[this.size]!;
    try {
      await this.fh.write(buf, 0, total, start);
      await this.fh.datasync();
    } catch (e) {
      // Cut any partial frame so a failed (never acknowledged) batch cannot resurface at recovery.
      await this.fh.truncate(start).catch(() => undefined);
      throw e;
    }
    let pos = start;
    for (const e of entries) {
      pos += HEADER + e.length;
      this.pushOffset(pos);
      this.size++;
    }
  }

  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    if (!this.fh) throw new Error("store is not open");
    if (start < 0 || end > this.size || start > end) throw new RangeError(`entries [${start}, ${end}) beyond size ${this.size}`);
    const from = this.offsets[start]!;
    const buf = Buffer.alloc(this.offsets[end]! - from);
    await this.fh.read(buf, 0, buf.length, from);
    const out: Uint8Array[] = [];
    for (let i = start; i < end; i++) {
      const at = this.offsets[i]! - from;
      out.push(buf.subarray(at + HEADER, this.offsets[i + 1]! - from));
    }
    return out;
  }

  async saveCheckpoint(note: string): Promise<void> {
    const tmp = join(this.dir, "checkpoint.tmp");
    await writeFile(tmp, note, { flush: true });
    await rename(tmp, join(this.dir, "checkpoint"));
    // Sync the directory so the rename itself survives a power cut.
    const d = openSync(this.dir, "r");
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }

  async close(): Promise<void> {
    if (!this.fh) return;
    await this.fh.close();
    this.fh = null;
    openDirs.delete(resolve(this.dir));
    rmSync(join(this.dir, "LOCK"), { force: true });
  }
}
