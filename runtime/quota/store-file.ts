/**
 * The quota service's embedded store, in a directory, as the map service keeps its maps (vmap/store/file.ts):
 * `snapshot` (the whole state, replaced atomically: temporary file fsynced, renamed, directory fsynced) and
 * `journal`, one CRC'd record per commit in the proof log's journal format (index = commit sequence, payload = the
 * commit's changed rows as JSON), fdatasynced before the commit is acknowledged. Every `snapshotEvery` commits the
 * snapshot is rewritten and the journal emptied, so a restart reads O(state + snapshotEvery).
 *
 * A record cut short by a crash was never acknowledged: it is dropped. A complete record that fails its CRC stops
 * the start (it may hold acknowledged commits). A write that fails is cut off the journal again before the error is
 * returned, so a later record never lands after a torn one. The directory is locked for one process
 * (common/dir-lock.ts).
 *
 * AS OF reads come from the usage history kept in memory and in the snapshot: `historyMs` of it (older versions are
 * folded into the last one before that horizon at each snapshot), and a read before the horizon is refused.
 */
import { mkdirSync } from "node:fs";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { compare, type Timestamp } from "../clock/index.js";
import { DirectoryLockedError, lockDirectory, type DirectoryLock } from "../common/dir-lock.js";
import { replaceFileDurably } from "../common/durable-file.js";
import { CorruptStoreError, encodeJournalRecord, scanJournal } from "../prooflog/index.js";
import type { Delegation } from "./delegation.js";
import { QuotaError } from "./errors.js";
import type { Override } from "./overrides.js";
import type { QuotaState, StateChanges } from "./state.js";
import type { QuotaStore } from "./store-port.js";

export interface FileQuotaStoreOptions {
  dir: string;
  /** How long to wait for another process holding the directory to let go (ms). */
  lockWaitMs?: number;
  snapshotEvery?: number;
  /** How much AS OF history to keep (ms). */
  historyMs?: number;
}

/** One usage version: HLC wall (µs), logical, amount. */
type Version = [number, number, number];

interface Snapshot {
  version: 1;
  seq: number;
  closed: [number, number];
  historyFrom: [number, number];
  usage: [string, string, number][];
  overrides: Override[];
  delegations: Delegation[];
  versions: [string, string, Version[]][];
}

interface Record_ {
  ts: [number, number];
  changes: StateChanges;
}

const CHUNK = 0xffff;
const seqOf = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));
const ts = (t: [number, number]): Timestamp => ({ wall: t[0], logical: t[1] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FileQuotaStore implements QuotaStore {
  readonly description: string;
  private lock: DirectoryLock | null = null;
  private journal: FileHandle | null = null;
  private journalBytes = 0;
  private seq = 0;
  private sinceSnapshot = 0;
  private broken: string | null = null;
  private closed: Timestamp = { wall: 0, logical: 0 };
  private historyFrom: Timestamp = { wall: 0, logical: 0 };
  private readonly usage = new Map<string, Map<string, number>>();
  private readonly overrides = new Map<string, Override>();
  private readonly delegations = new Map<string, Delegation>();
  /** node → dimension → versions in timestamp order. */
  private readonly versions = new Map<string, Map<string, Version[]>>();

  constructor(private readonly o: FileQuotaStoreOptions) {
    this.description = `file ${o.dir}`;
  }

  async open(): Promise<QuotaState & { closed: Timestamp }> {
    mkdirSync(this.o.dir, { recursive: true, mode: 0o700 });
    const deadline = Date.now() + (this.o.lockWaitMs ?? 15_000);
    for (;;) {
      try {
        this.lock = lockDirectory(this.o.dir, "quota.lock", "another quota service");
        break;
      } catch (e) {
        if (!(e instanceof DirectoryLockedError)) throw e;
        if (Date.now() > deadline) throw new Error(`another quota service holds ${this.o.dir} (${e.message}); one writer per directory`, { cause: e });
        await sleep(200);
      }
    }
    try {
      await this.load();
    } catch (e) {
      await this.close();
      throw e;
    }
    return { ...this.state(), closed: this.closed };
  }

  private async load(): Promise<void> {
    const snapPath = join(this.o.dir, "snapshot");
    let text: string | null = null;
    try {
      text = await readFile(snapPath, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (text !== null) {
      let s: Snapshot;
      try {
        s = JSON.parse(text) as Snapshot;
        if (s.version !== 1) throw new Error(`version ${String(s.version)}; expected 1`);
      } catch (e) {
        throw new CorruptStoreError(`${snapPath}: not a snapshot this quota service wrote (${(e as Error).message}); restore it or move it away`, { cause: e });
      }
      this.seq = s.seq;
      this.closed = ts(s.closed);
      this.historyFrom = ts(s.historyFrom);
      for (const [node, d, amount] of s.usage) this.setUsage(node, d, amount);
      for (const o of s.overrides) this.overrides.set(o.id, o);
      for (const d of s.delegations) this.delegations.set(d.id, d);
      for (const [node, d, vs] of s.versions) this.series(node).set(d, vs);
    }
    const path = join(this.o.dir, "journal");
    const fh = await open(path, "a+");
    try {
      const scan = scanJournal(await fh.readFile(), path);
      if (scan.tornBytes > 0) {
        await fh.truncate(scan.validBytes); // its fdatasync never returned: never acknowledged
        await fh.sync();
      }
      for (const r of scan.records) {
        if (r.firstIndex <= this.seq) continue; // covered by the snapshot (the journal is emptied after it)
        if (r.firstIndex !== this.seq + 1) throw new CorruptStoreError(`${path}: commit ${r.firstIndex} follows commit ${this.seq}; commits are missing`);
        let rec: Record_;
        try {
          rec = JSON.parse(Buffer.concat(r.entries).toString("utf8")) as Record_;
        } catch (e) {
          throw new CorruptStoreError(`${path}: commit ${r.firstIndex} is not a quota commit (${(e as Error).message})`, { cause: e });
        }
        this.apply(rec);
        this.seq = r.firstIndex;
      }
      this.sinceSnapshot = scan.records.length;
      this.journalBytes = scan.validBytes;
    } finally {
      await fh.close();
    }
    this.journal = await open(path, "a");
  }

  private setUsage(node: string, d: string, amount: number): void {
    const u = this.usage.get(node) ?? new Map<string, number>();
    if (amount === 0) u.delete(d);
    else u.set(d, amount);
    if (u.size === 0) this.usage.delete(node);
    else this.usage.set(node, u);
  }

  private series(node: string): Map<string, Version[]> {
    let s = this.versions.get(node);
    if (!s) this.versions.set(node, (s = new Map()));
    return s;
  }

  private apply(r: Record_): void {
    const at = ts(r.ts);
    for (const [node, d, amount] of r.changes.usage) {
      this.setUsage(node, d, amount);
      const series = this.series(node);
      const vs = series.get(d) ?? [];
      vs.push([at.wall, at.logical, amount]);
      series.set(d, vs);
    }
    for (const o of r.changes.overrides) this.overrides.set(o.id, o);
    for (const d of r.changes.delegations) this.delegations.set(d.id, d);
    if (compare(at, this.closed) > 0) this.closed = at;
  }

  private state(): QuotaState {
    const usage: QuotaState["usage"] = {};
    for (const [node, u] of this.usage) usage[node] = Object.fromEntries(u);
    const bySeq = <T extends { id: string }>(m: Map<string, T>) => [...m.values()].sort((a, b) => seqOf(a.id) - seqOf(b.id));
    return { usage, overrides: bySeq(this.overrides), delegations: bySeq(this.delegations) };
  }

  async commit(changes: StateChanges, at: Timestamp, beforeCommit?: () => Promise<void>): Promise<void> {
    if (this.broken) throw new Error(this.broken);
    if (!this.journal) throw new Error(`${this.description}: not open`);
    await beforeCommit?.();
    const rec: Record_ = { ts: [at.wall, at.logical], changes };
    const payload = Buffer.from(JSON.stringify(rec), "utf8");
    const chunks: Buffer[] = [];
    for (let i = 0; i < payload.length; i += CHUNK) chunks.push(payload.subarray(i, i + CHUNK));
    const bytes = encodeJournalRecord(this.seq + 1, chunks);
    try {
      await this.journal.write(bytes);
      await this.journal.datasync();
    } catch (e) {
      // Cut the partial record off, so the next commit does not land after a torn one (which a restart would read as corruption).
      try {
        await this.journal.truncate(this.journalBytes);
        await this.journal.sync();
      } catch (e2) {
        this.broken = `${this.description}: a failed journal write could not be cut off (${(e2 as Error).message}); restart the service`;
      }
      throw e;
    }
    this.journalBytes += bytes.length;
    this.seq++;
    this.apply(rec);
    if (++this.sinceSnapshot >= (this.o.snapshotEvery ?? 1000)) await this.snapshot();
  }

  /** Fold history older than the horizon, replace the snapshot atomically, then empty the journal. */
  private async snapshot(): Promise<void> {
    const horizonWall = Date.now() * 1000 - (this.o.historyMs ?? 24 * 3600_000) * 1000;
    if (horizonWall > this.historyFrom.wall) {
      for (const series of this.versions.values())
        for (const [d, vs] of series) {
          const keep = vs.findIndex((v) => v[0] >= horizonWall);
          const from = keep === -1 ? vs.length - 1 : Math.max(0, keep - 1);
          if (from > 0) series.set(d, vs.slice(from));
        }
      this.historyFrom = { wall: horizonWall, logical: 0 };
    }
    const { overrides, delegations } = this.state();
    const s: Snapshot = {
      version: 1,
      seq: this.seq,
      closed: [this.closed.wall, this.closed.logical],
      historyFrom: [this.historyFrom.wall, this.historyFrom.logical],
      usage: [...this.usage].flatMap(([node, u]) => [...u].map(([d, a]) => [node, d, a] as [string, string, number])),
      overrides,
      delegations,
      versions: [...this.versions].flatMap(([node, series]) => [...series].map(([d, vs]) => [node, d, vs] as [string, string, Version[]])),
    };
    await replaceFileDurably(join(this.o.dir, "snapshot"), JSON.stringify(s));
    await this.journal!.truncate(0);
    await this.journal!.sync();
    this.journalBytes = 0;
    this.sinceSnapshot = 0;
  }

  async heartbeat(at: Timestamp): Promise<void> {
    await this.commit({ usage: [], overrides: [], delegations: [] }, at);
  }

  async readUsage(node: string, asOf?: Timestamp): Promise<Record<string, number>> {
    if (asOf === undefined) return Object.fromEntries(this.usage.get(node) ?? []);
    if (compare(asOf, this.historyFrom) < 0) throw new QuotaError(`as_of is before the usage history this store keeps (from ${this.historyFrom.wall}.${this.historyFrom.logical})`);
    const out: Record<string, number> = {};
    for (const [d, vs] of this.versions.get(node) ?? []) {
      let amount = 0;
      for (const v of vs) if (compare({ wall: v[0], logical: v[1] }, asOf) <= 0) amount = v[2];
      if (amount !== 0) out[d] = amount;
    }
    return out;
  }

  async ping(): Promise<true | string> {
    if (!this.journal) return "not open";
    return this.broken ?? true;
  }

  async close(): Promise<void> {
    await this.journal?.close().catch(() => undefined);
    this.journal = null;
    this.lock?.release();
    this.lock = null;
  }
}
