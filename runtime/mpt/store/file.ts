/**
 * File store for `mpt serve --data DIR`:
 *   DIR/snapshot.json  the trie at one revision (format, secure, seed root, revision, root, entries), replaced
 *                      atomically (written to a temporary file, fsynced, renamed, directory fsynced)
 *   DIR/journal        one CRC'd record per change after the snapshot (the proof log's journal format: index =
 *                      revision, payload = RLP [trie key, value or "", root]), fdatasynced before the PUT is answered
 *   DIR/mpt.lock       one process at a time (common/dir-lock.ts: a kill -9'd holder's lock is taken over)
 * Every `snapshotEvery` changes the snapshot is rewritten and the journal emptied, so a restart reads
 * O(entries + snapshotEvery).
 *
 * A journal record cut short by the end of the file (a crash during its write: its sync never returned, so no
 * PUT was answered for it) is moved to DIR/quarantine/ — kept, never deleted — and reported in `notice`. Any
 * other damage — a complete record failing its CRC, a gap in revisions, an unreadable snapshot, a journal
 * without the snapshot it follows — stops the start naming the file and byte.
 */
import { decode as rlpDecode, encode as rlpEncode } from "@ethereumjs/rlp";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { lockDirectory, type DirectoryLock } from "../../common/dir-lock.js";
import { replaceFileDurably } from "../../common/durable-file.js";
import { CorruptStoreError, encodeJournalRecord, scanJournal } from "../../prooflog/index.js";
import type { TrieEntry } from "../trie.js";
import { MptStoreError, type MptChange, type MptStore, type StoredTrie } from "./port.js";

const FORMAT = "meridian-mpt/1";
const Hex = z.string().regex(/^([0-9a-f]{2})*$/);
const Snapshot = z.object({ format: z.literal(FORMAT), secure: z.boolean(), seedRoot: Hex, revision: z.number().int().min(0), root: Hex, entries: z.array(z.tuple([Hex, Hex])) }).strict();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bytes = (s: string) => Buffer.from(s, "hex");

function encodeChange(c: MptChange): Uint8Array {
  return rlpEncode([c.trieKey, c.value ?? new Uint8Array(0), c.root]);
}

function decodeChange(revision: number, payload: Uint8Array, where: string): MptChange {
  let item: unknown;
  try {
    item = rlpDecode(payload);
  } catch (e) {
    throw new CorruptStoreError(`${where}: revision ${revision}'s record is not RLP (${(e as Error).message})`);
  }
  if (!Array.isArray(item) || item.length !== 3 || !item.every((x) => x instanceof Uint8Array) || (item[2] as Uint8Array).length !== 32)
    throw new CorruptStoreError(`${where}: revision ${revision}'s record is not [trie key, value, 32-byte root]`);
  const [trieKey, value, root] = item as Uint8Array[];
  return { revision, trieKey: trieKey!, value: value!.length === 0 ? null : value!, root: root! };
}

export class FileMptStore implements MptStore {
  readonly description: string;
  private readonly lock: DirectoryLock;
  private journal: FileHandle | null = null;
  private head: { secure: boolean; seedRoot: Uint8Array; revision: number } | null = null;
  private sinceSnapshot = 0;

  constructor(
    private readonly dir: string,
    private readonly snapshotEvery = 1000,
  ) {
    this.description = `file store ${dir}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.lock = lockDirectory(dir, "mpt.lock", "another mpt serve");
  }

  private get snapshotPath() {
    return join(this.dir, "snapshot.json");
  }
  private get journalPath() {
    return join(this.dir, "journal");
  }

  async load(): Promise<StoredTrie | null> {
    let text: string | null = null;
    try {
      text = readFileSync(this.snapshotPath, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const journal = await open(this.journalPath, "a+");
    let buf: Buffer;
    try {
      buf = await journal.readFile();
    } finally {
      await journal.close();
    }
    if (text === null) {
      if (buf.length > 0)
        throw new CorruptStoreError(`${this.journalPath} holds ${buf.length} bytes of changes but ${this.snapshotPath}, which they follow, is missing: restore it or move the directory away`);
      return null;
    }
    let snap: z.infer<typeof Snapshot>;
    try {
      snap = Snapshot.parse(JSON.parse(text));
    } catch (e) {
      throw new CorruptStoreError(`${this.snapshotPath} is not a snapshot this service wrote (${(e as Error).message.slice(0, 300)}): restore it or move the directory away`);
    }
    const scan = scanJournal(buf, this.journalPath); // throws CorruptStoreError on a damaged complete record
    let notice: string | undefined;
    if (scan.tornBytes > 0) notice = await this.quarantine(buf, scan.validBytes);
    const changes: MptChange[] = [];
    let revision = snap.revision;
    for (const r of scan.records) {
      if (r.entries.length !== 1) throw new CorruptStoreError(`${this.journalPath}: the record at byte ${r.offset} holds ${r.entries.length} changes; this store writes one per record`);
      if (r.firstIndex <= snap.revision) continue; // written before the snapshot that covers it (a crash before the journal was emptied)
      if (r.firstIndex !== revision + 1)
        throw new CorruptStoreError(
          `${this.journalPath}: the record at byte ${r.offset} is revision ${r.firstIndex}, but the store is at revision ${revision}: revisions ${revision + 1}..${r.firstIndex - 1} are missing`,
        );
      changes.push(decodeChange(r.firstIndex, r.entries[0]!, this.journalPath));
      revision = r.firstIndex;
    }
    this.head = { secure: snap.secure, seedRoot: bytes(snap.seedRoot), revision };
    this.sinceSnapshot = scan.records.length;
    this.journal = await open(this.journalPath, "a");
    return {
      secure: snap.secure,
      seedRoot: bytes(snap.seedRoot),
      revision: snap.revision,
      root: bytes(snap.root),
      entries: snap.entries.map(([k, v]) => ({ key: bytes(k), value: bytes(v) })),
      changes,
      notice,
    };
  }

  /** Move a torn tail to DIR/quarantine/ and cut the journal before it; returns what to tell the operator. */
  private async quarantine(buf: Buffer, from: number): Promise<string> {
    const qdir = join(this.dir, "quarantine");
    mkdirSync(qdir, { recursive: true });
    const q = join(qdir, `journal.from-${from}.${Date.now()}`);
    writeFileSync(q, buf.subarray(from), { flush: true });
    const fh = await open(this.journalPath, "r+");
    try {
      await fh.truncate(from);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return `${this.journalPath} ended in ${buf.length - from} bytes of an incomplete record (a write cut short by a crash, never acknowledged): moved to ${q}`;
  }

  async init(seed: { secure: boolean; root: Uint8Array; entries: Iterable<TrieEntry> }): Promise<void> {
    if (this.head !== null) throw new MptStoreError(`${this.description} already holds a trie`);
    await this.writeSnapshot({ secure: seed.secure, seedRoot: seed.root, revision: 0, root: seed.root }, seed.entries);
    this.head = { secure: seed.secure, seedRoot: seed.root, revision: 0 };
    this.journal = await open(this.journalPath, "a");
    await this.journal.truncate(0);
    await this.journal.sync();
    this.sinceSnapshot = 0;
  }

  async record(c: MptChange, current: () => Iterable<TrieEntry>): Promise<void> {
    if (!this.head || !this.journal) throw new MptStoreError(`${this.description} was not loaded`);
    if (c.revision !== this.head.revision + 1) throw new MptStoreError(`${this.description} is at revision ${this.head.revision}; cannot record ${c.revision}`);
    await this.journal.write(encodeJournalRecord(c.revision, [encodeChange(c)]));
    await this.journal.datasync();
    this.head.revision = c.revision;
    if (++this.sinceSnapshot >= this.snapshotEvery) {
      await this.writeSnapshot({ ...this.head, root: c.root }, current());
      await this.journal.truncate(0); // records at or below the snapshot's revision are skipped anyway
      await this.journal.sync();
      this.sinceSnapshot = 0;
    }
  }

  private async writeSnapshot(h: { secure: boolean; seedRoot: Uint8Array; revision: number; root: Uint8Array }, entries: Iterable<TrieEntry>): Promise<void> {
    const doc = { format: FORMAT, secure: h.secure, seedRoot: hex(h.seedRoot), revision: h.revision, root: hex(h.root), entries: [...entries].map((e) => [hex(e.key), hex(e.value)]) };
    await replaceFileDurably(this.snapshotPath, JSON.stringify(doc));
  }

  async close(): Promise<void> {
    await this.journal?.close();
    this.journal = null;
    this.lock.release();
  }
}
