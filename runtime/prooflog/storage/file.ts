/**
 * The embedded file store (the default): `<dir>/public/` is a static C2SP tlog-tiles tree — `checkpoint`,
 * `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]` (entry bundles gzip-compressed, to be served with
 * `Content-Encoding: gzip`) — that any web server or CDN can serve as is. `<dir>/state/` is private: the tree
 * state (the commit point), the journal, the writer lock, `quarantine/`, `antispam/`, the duplicate index
 * (leafindex.ts), and `filter`, the saved membership filter (filter.ts).
 *
 * A commit appends the batch to the journal with one O_DSYNC write (then the entries may be acknowledged), and
 * writes the full tiles and bundles it completed behind it, without syncing. Commits are pipelined: the journal
 * has two files (lanes, `journal.<seq>` and `journal.<seq>.1`) written alternately, so the next batch's write
 * starts while the previous one is in flight; each lane is appended one record at a time, and commits resolve in
 * order, each once it and every one before it are durable. A crash can therefore leave at most the last record
 * of a lane torn or missing, and at most one record (the other lane's last) after that gap, never acknowledged:
 * replay takes the records in index order up to the first gap and sets the one past it aside. `sync` makes those durable, then replaces the state
 * atomically and drops journal files the state covers; the sequencer syncs before every checkpoint it publishes
 * (and when the journal grows), so a restart replays at most one sync interval of journal: O(1) in log size.
 */
import { constants, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { hashesAtLevel, type FullBundle, type FullTile } from "../integrate.js";
import { encodeEntryBundle, tilePath, TILE_WIDTH } from "../tiles.js";
import { CorruptStoreError, encodeRecord, scanJournal } from "./journal.js";
import { decodeState, encodeState, type TreeState } from "./state.js";
import { type Commit, type Publication, type Recovered, type TileStore } from "./store.js";
import { type Hash, HASH_SIZE } from "../rfc6962.js";
import { FileLeafIndex } from "./leafindex.js";
import { deleteBundles, readPruned, writePruned } from "./file-prune.js";
import { closeFile, DirtyFiles, openFile, writeAll } from "./public-files.js";
import { fsyncDirectory } from "../../common/durable-file.js";
import { lockDirectory, type DirectoryLock } from "../../common/dir-lock.js";

const gz = promisify(gzip);
const gunz = promisify(gunzip);
/** Sync once the journal holds this much, even between checkpoints, to bound replay at restart. */
const JOURNAL_SYNC_BYTES = 16 << 20;
/** The journal is opened for synchronous data writes: one write returns once the record is durable (one syscall, not write + fdatasync). */
const JOURNAL_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;

export async function gunzipIfNeeded(b: Uint8Array): Promise<Uint8Array> {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b ? gunz(b) : b;
}

export class FileStore implements TileStore {
  readonly description: string;
  readonly pipelined = true;
  readonly publicDir: string;
  private readonly stateDir: string;
  /** The two journal lanes (see above): raw descriptors, written with callback `fs.write` (no FileHandle promise per record). */
  private journals: [number, number] | null = null;
  /** Settles when the lane's last write has. */
  private laneTail: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()];
  private lane: 0 | 1 = 0;
  /** Entries handed to the journal (committed or in flight). */
  private issued = 0;
  /** Settles when the latest commit has been acknowledged or failed. */
  private acked: Promise<void> = Promise.resolve();
  private commitFailure: unknown = null;
  private journalSeq = 0;
  private journalBytes = 0;
  /** Public files written since the last sync. */
  private readonly dirty = new DirtyFiles();
  private lastState: TreeState | null = null;
  private syncedSize = 0;
  private lock: Promise<unknown> = Promise.resolve();
  /** Full tiles and bundles written since the last publication, whose partial versions can go once it is out. */
  private completed: { path: string; end: number }[] = [];
  private leafIndex: FileLeafIndex | null = null;
  private dirLock: DirectoryLock | null = null;
  /** Full tiles and bundles are written behind the commits that complete them, in order, on this chain. */
  private tileWrites: Promise<void> = Promise.resolve();
  private tileFailure: unknown = null;
  /** Those not written yet, by public path (bundles uncompressed), so reads see them. */
  private readonly unwritten = new Map<string, Uint8Array>();

  constructor(private readonly dir: string) {
    this.description = `file store ${dir}`;
    this.publicDir = join(dir, "public");
    this.stateDir = join(dir, "state");
  }

  /** Serialise commit, sync and publish: they share the journal and the state file. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private journalPath(seq: number, lane = 0): string {
    return join(this.stateDir, `journal.${String(seq).padStart(12, "0")}${lane === 1 ? ".1" : ""}`);
  }

  private async openJournals(): Promise<void> {
    this.journals = [await openFile(this.journalPath(this.journalSeq, 0), JOURNAL_FLAGS), await openFile(this.journalPath(this.journalSeq, 1), JOURNAL_FLAGS)];
    this.laneTail = [Promise.resolve(), Promise.resolve()];
    this.lane = 0;
  }

  async open(): Promise<Recovered> {
    if (existsSync(join(this.dir, "entries")) && !existsSync(this.stateDir)) {
      throw new CorruptStoreError(`${this.dir} holds a log in the old single-file format (entries); this version stores tiles: serve it with the previous release and copy the entries into a new log`);
    }
    mkdirSync(join(this.stateDir, "quarantine"), { recursive: true });
    mkdirSync(this.publicDir, { recursive: true });
    // One writer per directory, across processes and within one: a second writer would fork the tree.
    this.dirLock = lockDirectory(this.stateDir, "LOCK", "a log server");
    this.leafIndex = new FileLeafIndex(join(this.stateDir, "antispam"), () => this.syncedSize);
    const statePath = join(this.stateDir, "state");
    const state = existsSync(statePath) ? decodeState(readFileSync(statePath), statePath) : null;
    await this.leafIndex.open(state, this.publicDir);
    const size = state?.size ?? 0;
    const pending = await this.replay(size);
    this.journalSeq++;
    await this.openJournals();
    await fsyncDirectory(this.stateDir);
    this.lastState = state;
    this.syncedSize = size;
    this.issued = size; // the sequencer commits the pending entries again (journaled), from `size`
    const checkpoint = await readFile(join(this.publicDir, "checkpoint"), "utf8").catch(() => null);
    return { state, pending, checkpoint, pruned: (await readPruned(this.stateDir)).target };
  }

  /**
   * Record the minimum index (durably, first), then delete the full bundles ending at or below it (and any partial
   * bundle left beside them), then record the sweep done. Cut short, the next prune sweeps again from the last
   * completed sweep; a missing bundle below the recorded minimum is never corruption.
   */
  prune(minIndex: number): Promise<number> {
    // Apart from the commit chain: appends go on while old bundles are deleted (they never touch the same files).
    const run = this.pruning.then(() => this.pruneNow(minIndex));
    this.pruning = run.catch(() => undefined);
    return run;
  }

  private pruning: Promise<unknown> = Promise.resolve();

  private async pruneNow(minIndex: number): Promise<number> {
    if (!this.journals) throw new Error("store is not open");
    await this.tileWrites; // the bundles below the (integrated) minimum are written: none can reappear after its deletion
    const was = await readPruned(this.stateDir);
    const target = Math.max(was.target, minIndex);
    const end = Math.floor(target / TILE_WIDTH);
    await writePruned(this.stateDir, target, was.done);
    const removed = await deleteBundles(this.publicDir, Math.floor(was.done / TILE_WIDTH), end);
    await writePruned(this.stateDir, target, Math.max(was.done, end * TILE_WIDTH));
    return removed;
  }

  /**
   * The journaled entries past `size`, in index order. Records are taken in index order up to the first gap; past
   * a gap there may be only the one record a crash can leave there (the last of a lane in the newest journal,
   * written while the missing one was in flight, so never acknowledged): it is set aside in quarantine.
   */
  private async replay(size: number): Promise<Uint8Array[]> {
    const files = readdirSync(this.stateDir)
      .filter((f) => /^journal\.[0-9]{12}(\.1)?$/.test(f))
      .sort();
    const lastSeq = files.length > 0 ? Number(files.at(-1)!.slice(8, 20)) : 0;
    type Rec = { firstIndex: number; entries: Buffer[]; file: string; offset: number; last: boolean };
    const records: Rec[] = [];
    for (const f of files) {
      const path = join(this.stateDir, f);
      const buf = readFileSync(path);
      const scan = scanJournal(buf, path);
      const newest = Number(f.slice(8, 20)) === lastSeq;
      if (scan.tornBytes > 0) {
        if (!newest) throw new CorruptStoreError(`${path} ends in an incomplete record, but a later journal exists: not a torn tail`);
        // The record's write never completed, so nothing in it was acknowledged: set it aside, never delete.
        await this.quarantine(path, buf, scan.validBytes);
      }
      scan.records.forEach((r, i) => records.push({ ...r, file: path, offset: r.offset, last: newest && i === scan.records.length - 1 }));
      this.journalSeq = Math.max(this.journalSeq, Number(f.slice(8, 20)));
    }
    records.sort((x, y) => x.firstIndex - y.firstIndex);
    const pending: Uint8Array[] = [];
    let next = size;
    for (const [k, r] of records.entries()) {
      const end = r.firstIndex + r.entries.length;
      if (end <= next) continue; // already integrated into the state
      if (r.firstIndex > next) {
        if (k !== records.length - 1 || !r.last) {
          throw new CorruptStoreError(`${r.file}: journal resumes at entry ${r.firstIndex} but the entries before it end at ${next}: entries ${next}..${r.firstIndex - 1} are missing`);
        }
        await this.quarantine(r.file, readFileSync(r.file), r.offset);
        break;
      }
      pending.push(...r.entries.slice(next - r.firstIndex));
      next = end;
    }
    return pending;
  }

  /** Move the bytes of a journal file from `from` on into quarantine and truncate the file there. */
  private async quarantine(path: string, buf: Buffer, from: number): Promise<void> {
    const q = join(this.stateDir, "quarantine", `${basename(path)}.from-${from}.${Date.now()}`);
    writeFileSync(q, buf.subarray(from));
    const fh = await open(path, "r+");
    await fh.truncate(from);
    await fh.sync();
    await fh.close();
  }

  private writePublic(path: string, data: Uint8Array): Promise<void> {
    return this.dirty.write(join(this.publicDir, path), data);
  }

  private async writeTiles(tiles: readonly FullTile[], bundles: readonly FullBundle[]): Promise<void> {
    for (const t of tiles) this.completed.push({ path: tilePath({ level: t.level, index: t.index, width: TILE_WIDTH }), end: (t.index + 1) * TILE_WIDTH ** (t.level + 1) });
    for (const b of bundles) this.completed.push({ path: tilePath({ level: "entries", index: b.index, width: TILE_WIDTH }), end: (b.index + 1) * TILE_WIDTH });
    await Promise.all([
      ...tiles.map((t) => this.writePublic(tilePath({ level: t.level, index: t.index, width: TILE_WIDTH }), t.data)),
      ...bundles.map(async (b) => this.writePublic(tilePath({ level: "entries", index: b.index, width: TILE_WIDTH }), await gz(b.data))),
    ]);
  }

  async commit(c: Commit): Promise<void> {
    const { ack } = await this.serial(async () => {
      if (!this.journals) throw new Error("store is not open");
      if (this.tileFailure) throw this.tileFailure;
      if (this.commitFailure) throw this.commitFailure;
      if (c.firstIndex !== this.issued) throw new Error(`commit at ${c.firstIndex} but the store holds ${this.issued} entries`);
      if (this.journalBytes > JOURNAL_SYNC_BYTES) await this.syncNow();
      this.issued = c.firstIndex + c.entries.length;
      let written: Promise<unknown> = Promise.resolve();
      if (!c.journaled) {
        const rec = encodeRecord(c.firstIndex, c.entries);
        const lane = this.lane;
        const fd = this.journals[lane];
        this.lane = lane === 0 ? 1 : 0;
        // One write at a time per lane (so only a lane's last record can be torn); the other lane's may overlap.
        written = this.laneTail[lane].then(() => {
          if (this.commitFailure) throw this.commitFailure;
          return writeAll(fd, rec); // O_DSYNC: durable when it returns
        });
        this.laneTail[lane] = written.then(
          () => undefined,
          () => undefined,
        );
        this.journalBytes += rec.length;
      }
      const previous = this.acked;
      const ack = this.acknowledge(c, written, previous);
      this.acked = ack.catch(() => undefined);
      return { ack };
    });
    await ack;
  }

  /** Once a commit's record and every earlier one are durable: index it, note its state, write its tiles behind it. */
  private async acknowledge(c: Commit, written: Promise<unknown>, previous: Promise<void>): Promise<void> {
    try {
      await written;
    } catch (e) {
      this.commitFailure ??= e;
    }
    await previous;
    if (this.commitFailure) throw this.commitFailure;
    // Only now that the entries are durable may the index name them (a replayed batch is indexed again).
    if (c.leafHashes && c.leafHashes.length > 0) this.leafIndex!.add(c.firstIndex, c.leafHashes);
    else this.leafIndex!.committed(c.firstIndex + c.entries.length); // detection off: `covered` still advances
    this.lastState = c.state;
    // Most commits complete no tile: no write chain to extend.
    if (c.tiles.length === 0 && c.bundles.length === 0) return;
    // The entries are durable in the journal, so the commit resolves now; the tiles they complete are written
    // behind it (a restart would rebuild them from the journal) and made durable by the next sync.
    const paths = [
      ...c.tiles.map((t) => [tilePath({ level: t.level, index: t.index, width: TILE_WIDTH }), t.data] as const),
      ...c.bundles.map((b) => [tilePath({ level: "entries", index: b.index, width: TILE_WIDTH }), b.data] as const),
    ];
    for (const [path, data] of paths) this.unwritten.set(path, data);
    this.tileWrites = this.tileWrites
      .then(() => this.writeTiles(c.tiles, c.bundles))
      .catch((e: unknown) => void (this.tileFailure ??= e))
      .finally(() => {
        for (const [path] of paths) this.unwritten.delete(path);
      });
  }

  sync(): Promise<void> {
    return this.serial(() => this.syncNow());
  }

  /** fsync the tiles written since the last sync, then the state, then retire the journal files it covers. */
  private async syncNow(): Promise<void> {
    await this.acked;
    if (this.commitFailure) throw this.commitFailure;
    const state = this.lastState;
    await this.tileWrites;
    if (this.tileFailure) throw this.tileFailure;
    if (!state || (state.size === this.syncedSize && this.dirty.size === 0)) return;
    await this.dirty.flush();
    const statePath = join(this.stateDir, "state");
    await writeFile(`${statePath}.tmp`, encodeState(state), { flush: true });
    await rename(`${statePath}.tmp`, statePath);
    await fsyncDirectory(this.stateDir);
    this.syncedSize = state.size;
    // Everything journaled so far is now in the state: start a new journal, drop the old ones.
    for (const fd of this.journals!) await closeFile(fd);
    const old = this.journalSeq;
    this.journalSeq++;
    await this.openJournals();
    this.journalBytes = 0;
    for (const f of readdirSync(this.stateDir).filter((n) => /^journal\.[0-9]{12}(\.1)?$/.test(n) && Number(n.slice(8, 20)) <= old)) await rm(join(this.stateDir, f));
    await fsyncDirectory(this.stateDir);
  }

  publish(p: Publication): Promise<void> {
    return this.serial(async () => {
      await this.syncNow();
      const e = p.edge;
      const writes: Promise<void>[] = [];
      e.tiles.forEach((t, L) => {
        const width = t.length / HASH_SIZE;
        if (width > 0) writes.push(this.writePublic(tilePath({ level: L, index: Math.floor(hashesAtLevel(e.size, L) / TILE_WIDTH), width }), t));
      });
      if (e.entries.length > 0) {
        writes.push(gz(encodeEntryBundle(e.entries)).then((b) => this.writePublic(tilePath({ level: "entries", index: Math.floor(e.size / TILE_WIDTH), width: e.entries.length }), b)));
      }
      await Promise.all(writes);
      await this.dirty.flush();
      const cp = join(this.publicDir, "checkpoint");
      await writeFile(`${cp}.tmp`, p.note, { flush: true });
      await rename(`${cp}.tmp`, cp);
      await fsyncDirectory(this.publicDir);
      // Partial versions of tiles that are now full and durable are no longer needed (clients fall back to the full tile).
      const done = this.completed.filter((c) => c.end <= e.size);
      this.completed = this.completed.filter((c) => c.end > e.size);
      await Promise.all(done.map(({ path }) => rm(join(this.publicDir, `${path}.p`), { recursive: true, force: true })));
    });
  }

  async readTile(level: number, index: number): Promise<Uint8Array | null> {
    const pending = this.unwritten.get(tilePath({ level, index, width: TILE_WIDTH }));
    if (pending) return pending;
    return readFile(join(this.publicDir, tilePath({ level, index, width: TILE_WIDTH }))).catch(() => null);
  }

  async readBundle(index: number): Promise<Uint8Array | null> {
    const pending = this.unwritten.get(tilePath({ level: "entries", index, width: TILE_WIDTH }));
    if (pending) return pending;
    const b = await readFile(join(this.publicDir, tilePath({ level: "entries", index, width: TILE_WIDTH }))).catch(() => null);
    return b && gunzipIfNeeded(b);
  }

  /** `state/filter`; a missing or unreadable file is no filter (it is rebuilt). */
  async loadFilter(): Promise<Uint8Array | null> {
    return readFile(join(this.stateDir, "filter")).catch(() => null);
  }

  async saveFilter(image: Uint8Array): Promise<void> {
    const path = join(this.stateDir, "filter");
    await writeFile(`${path}.tmp`, image, { flush: true });
    await rename(`${path}.tmp`, path);
    await fsyncDirectory(this.stateDir);
  }

  async findLeaves(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    if (!this.leafIndex) throw new Error("store is not open");
    return this.leafIndex.find(leaves);
  }

  async close(): Promise<void> {
    await this.lock;
    await this.acked;
    await this.tileWrites;
    await this.pruning;
    for (const fd of this.journals ?? []) await closeFile(fd);
    this.journals = null;
    await this.dirty.close();
    await this.leafIndex?.close();
    this.dirLock?.release();
    this.dirLock = null;
  }
}
