/**
 * File map store: per map, `<dir>/<map>/snapshot` (head and every value, replaced atomically) and
 * `<dir>/<map>/journal`, one CRC'd record per batch (the prooflog journal format: index = revision, payload =
 * u64 log index ‖ the canonical map entry), fdatasynced before the write is acknowledged. Every `snapshotEvery`
 * batches the snapshot is rewritten and the journal emptied, so a restart reads O(map size + snapshotEvery).
 *
 * A journal record cut short by a crash was never acknowledged: it is dropped (if the log recorded it, the service
 * catches up from the log). A complete record that fails its CRC stops the start.
 *
 * One process per directory: `<dir>/vmap.lock` (common/dir-lock.ts; a kill -9'd holder's lock is taken over) is
 * taken before anything is read, waited for up to `lockWaitMs`, then refused naming the directory; close releases it.
 */
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { open, rename, writeFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { DirectoryLockedError, lockDirectory, type DirectoryLock } from "../../common/dir-lock.js";
import { CorruptStoreError, encodeJournalRecord as encodeRecord, scanJournal } from "../../prooflog/index.js";
import { decodeMapEntry, encodeMapEntry } from "../map.js";
import { MapStoreError, type LoggedBatch, type MapStore, type StoredMap } from "./port.js";

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  await fh.sync();
  await fh.close();
}

export function encodeBatch(b: LoggedBatch): Buffer {
  const entry = encodeMapEntry(b.entry);
  const out = Buffer.alloc(8 + entry.length);
  out.writeBigInt64BE(BigInt(b.logIndex ?? -1));
  entry.copy(out, 8);
  return out;
}

export function decodeBatch(b: Buffer, where: string): LoggedBatch {
  const entry = decodeMapEntry(b.subarray(8));
  if (!entry) throw new CorruptStoreError(`${where}: a journal record is not a map entry`);
  const i = Number(b.readBigInt64BE(0));
  return { entry, logIndex: i < 0 ? null : i };
}

interface Open {
  journal: FileHandle;
  path: string;
  revision: number;
  sinceSnapshot: number;
}

export interface FileMapStoreOptions {
  /** Rewrite the snapshot (and empty the journal) every this many batches. */
  snapshotEvery?: number;
  /** How long to wait for another process to let go of the directory (ms); then refuse. */
  lockWaitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FileMapStore implements MapStore {
  readonly description: string;
  private readonly maps = new Map<string, Open>();
  private readonly snapshotEvery: number;
  private locking: Promise<DirectoryLock> | null = null;

  constructor(
    private readonly dir: string,
    private readonly o: FileMapStoreOptions = {},
  ) {
    this.description = `file map store ${dir}`;
    this.snapshotEvery = o.snapshotEvery ?? 1000;
  }

  /** Take the directory for this process (once), waiting up to lockWaitMs for another holder to let go. */
  private lock(): Promise<DirectoryLock> {
    this.locking ??= (async () => {
      mkdirSync(this.dir, { recursive: true });
      const deadline = Date.now() + (this.o.lockWaitMs ?? 15_000);
      for (;;) {
        try {
          return lockDirectory(this.dir, "vmap.lock", "another map service");
        } catch (e) {
          if (!(e instanceof DirectoryLockedError)) throw e;
          if (Date.now() >= deadline) throw new MapStoreError(`another map service holds ${this.dir} (${e.message}); one writer per directory`, { cause: e });
          await sleep(200);
        }
      }
    })();
    return this.locking;
  }

  async load(map: string): Promise<StoredMap | null> {
    await this.lock();
    const d = join(this.dir, map);
    mkdirSync(d, { recursive: true });
    const snapPath = join(d, "snapshot");
    const journalPath = join(d, "journal");
    let stored: StoredMap | null = null;
    if (existsSync(snapPath)) {
      const doc = JSON.parse(readFileSync(snapPath, "utf8")) as { revision: number; root: string; logIndex: number | null; values: [string, string][] };
      stored = {
        head: { revision: doc.revision, root: Buffer.from(doc.root, "base64"), logIndex: doc.logIndex },
        values: doc.values.map(([k, v]) => ({ key: Buffer.from(k, "hex"), value: Buffer.from(v, "base64") })),
        batches: [],
      };
    }
    const fh = await open(journalPath, "a+");
    const scan = scanJournal(await fh.readFile(), journalPath);
    if (scan.tornBytes > 0) {
      await fh.truncate(scan.validBytes); // its fdatasync never returned: never acknowledged
      await fh.sync();
    }
    const after = scan.records.flatMap((r) => r.entries.map((e) => decodeBatch(e, journalPath))).filter((b) => b.entry.revision > (stored?.head.revision ?? 0));
    if (after.length > 0) stored = { head: stored?.head ?? { revision: 0, root: Buffer.alloc(0), logIndex: null }, values: stored?.values ?? [], batches: after };
    const revision = after.at(-1)?.entry.revision ?? stored?.head.revision ?? 0;
    this.maps.set(map, { journal: await open(journalPath, "a"), path: d, revision, sinceSnapshot: scan.records.length });
    await fh.close();
    return stored;
  }

  async record(b: LoggedBatch, current: () => Iterable<{ key: Buffer; value: Uint8Array }>): Promise<void> {
    const m = this.maps.get(b.entry.map);
    if (!m) throw new MapStoreError(`${this.description}: map ${b.entry.map} was not loaded`);
    if (b.entry.revision !== m.revision + 1) throw new MapStoreError(`${this.description}: map ${b.entry.map} is at revision ${m.revision}; cannot record ${b.entry.revision}`);
    await m.journal.write(encodeRecord(b.entry.revision, [encodeBatch(b)]));
    await m.journal.datasync();
    m.revision = b.entry.revision;
    if (++m.sinceSnapshot >= this.snapshotEvery) await this.snapshot(m, b, current);
  }

  /** Replace the snapshot atomically, then empty the journal (records at or below the snapshot are skipped anyway). */
  private async snapshot(m: Open, b: LoggedBatch, current: () => Iterable<{ key: Buffer; value: Uint8Array }>): Promise<void> {
    const values = [...current()].map((e) => [e.key.toString("hex"), Buffer.from(e.value).toString("base64")]);
    const doc = { revision: b.entry.revision, root: Buffer.from(b.entry.root).toString("base64"), logIndex: b.logIndex, values };
    const path = join(m.path, "snapshot");
    await writeFile(`${path}.tmp`, JSON.stringify(doc), { flush: true });
    await rename(`${path}.tmp`, path);
    await fsyncPath(m.path);
    await m.journal.truncate(0);
    await m.journal.sync();
    m.sinceSnapshot = 0;
  }

  async close(): Promise<void> {
    for (const m of this.maps.values()) await m.journal.close();
    this.maps.clear();
    const lock = await this.locking?.catch(() => null);
    lock?.release();
    this.locking = null;
  }
}
