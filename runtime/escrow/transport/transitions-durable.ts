/**
 * The escrow's state-transition log (transition-log.ts) as served: kept in a store across restarts when the escrow
 * has one (PostgreSQL, transitions-pg.ts), else this process's alone.
 *
 * Kept (`openDurableTransitionLog` with a store): the log is named once, `meridian-escrow/<regions>/<16 random hex
 * digits>`, when the store first holds it, and every later process serving those regions continues it — the same
 * origin and note key, the tree only growing. At start the process claims the log (its writer epoch) and reads its
 * entries back into the log's Merkle tree, held to the stored root (and to the map's anchors): then it serves — its
 * checkpoints sign the stored log, which its predecessor already signed. The state is rebuilt after that, in the
 * background (`restoreState`, in slices of the event loop: re-executing a long log and hashing its state tree took
 * ~0.2–0.7 ms an entry on the 256-level tree the state had before the compact one, tens of seconds before a 50,000-entry log's process could sell): each entry re-executed and held
 * to its stored bytes, the state tree built from the resulting leaves and held to the last entry's post root. Until
 * then the ledgers' events wait queued (`EscrowTransitionLog.restoring`): nothing is executed, logged or signed on a
 * state not yet verified. Then it logs what its restart did to the ledgers: the previous process's regions' ledgers
 * are gone — every reservation still open there is voided and their free units debited (`void`, `debit`: the units
 * went with the lease, which this process's ledgers take over as they stand, a `refill`) — and the queued events
 * follow. So its ledgers' events apply to the state they really start from, and a refund of an earlier process's sale
 * is a valid transition of the same log. Stored entries that do not re-execute (a corrupt store the root check could
 * not see: bytes that hash as stored but are no valid log; or a log kept before the state moved to the compact tree,
 * told by its entry 0's pre root) seal this process's log at its stored size, saying why, and name a new log for the
 * next start. A checkpoint (and the anchor) signs only what the store holds (`durable`): a crash
 * loses nothing a client or witness was shown.
 *
 * Rollbacks. A log store that restarts empty holds no name: the next process names a new log, which no witness can
 * take for size 0 of the old one. A store restored from a stale snapshot (or otherwise behind, or forked) is found by
 * `check`, which holds the restored tree to what was published of the log (the map's anchors, transitions-anchor.ts;
 * a map that cannot be read then counts as a failed check):
 * then the process starts a new, differently named log (recorded in `restarted`: which log, at which size, and why),
 * rather than refusing to start — refusing would stop the sales over their audit log, and continuing would sign a
 * rolled-back tree; the new log's entries start from the empty state, as a log must (a challenger replays from it), and
 * the old log's published checkpoints stand. Without a map nothing outside the store remembers the log, and a
 * stale snapshot is not detected by the escrow (a witness of the log still sees the rollback).
 *
 * Two processes serving the same regions on one store: the later start takes the log over (a newer epoch); the
 * earlier one's next append is refused, and it seals its log there (it serves its durable prefix, signs nothing more).
 *
 * A log is kept only under a key kept with it (`transitionsKeyFile`, serve.ts): with a key made at start, each
 * process's checkpoints would open under another verifier key. A stored log whose key is not the key file's (the
 * operator changed it) is not continued either: a new log starts under the new key.
 *
 * Not kept (no store, or no key file): each process start is its own log, `meridian-escrow/<regions>/<incarnation>`,
 * as before.
 */
import { decodeEntry, encodeEntry, ESCROW_EMPTY_ROOT, escrowKeys, executeEscrow, freeKey, parseEscrowTx, smtKey, type Entry } from "../../fraud/index.js";
import { hashEquals } from "../../prooflog/index.js";
import type { Clock } from "../../common/clock.js";
import { EscrowTransitionLog, incarnationOrigin, type TransitionCheckpoint } from "../transition-log.js";
import type { TransitionLogReader, TransitionStatus } from "./transitions-reader.js";

/** A log as the store holds it, claimed by this process (its writer epoch). */
export interface ClaimedLog {
  origin: string;
  /** The verifier key its checkpoints were signed with. */
  vkey: string;
  epoch: number;
  size: number;
  root: string;
  /** Its first entries in order (fewer than `size`: the store lost some). */
  entries: Buffer[];
}

/** Where a kept log lives (transitions-pg.ts). */
export interface TransitionLogStore {
  migrate(): Promise<void>;
  /** Claim the log of `base` (a newer epoch), or create it as `fresh`. */
  claim(base: string, fresh: { origin: string; vkey: string }): Promise<ClaimedLog>;
  /** Append entries `from`.. with the new root, unless another process claimed the log since. */
  append(base: string, claimed: { origin: string; epoch: number }, from: number, entries: readonly Uint8Array[], root: string): Promise<void>;
  /** Name a new, empty log for `base` in place of the claimed one. */
  replace(base: string, claimed: { origin: string; epoch: number }, next: { origin: string; vkey: string }): Promise<void>;
  /** Whether an append failed because another process holds the log now (then this one stops writing it). */
  isTakeover(err: unknown): boolean;
  close(): Promise<void>;
}

/** Why a process started a new log instead of continuing the stored one. */
export interface LogRestart {
  origin: string;
  size: number;
  reason: string;
}

export interface TransitionLogOptions {
  clock: Clock;
  /** `meridian-escrow/<regions>`: the log's name without its id. */
  base: string;
  signerKey?: string;
  maxEntries?: number;
  maxBacklog?: number;
  /** Told of a failed append (retried at the next sync) and of a takeover. */
  onError?: (err: Error) => void;
}

const MAX_APPEND = 1000;
/** The longest `close` logs what is queued before it stores it (transitions-thread.ts waits 15 s for a worker's close). */
const CLOSE_FLUSH_MS = 5_000;

/** The log as served: its checkpoints sign only what is durable (everything, for a log of this process alone). */
export class ServedTransitionLog implements TransitionLogReader {
  /** Entries the store holds (a checkpoint signs no more). */
  durable: number;
  /** Set when this process started a new log in place of the stored one. */
  restarted?: LogRestart;
  /** Settles once a continued log's state is rebuilt and verified (or the log sealed because it was not): `restoreState`. */
  restored: Promise<void> = Promise.resolve();
  /** Set by `close`: a state restore still running stops. */
  closed = false;
  private chain: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private lost = false;

  constructor(
    readonly log: EscrowTransitionLog,
    private readonly kept?: { store: TransitionLogStore; base: string; epoch: number; onError: (err: Error) => void },
  ) {
    this.durable = kept ? 0 : Infinity;
  }

  /** The writer epoch of a kept log (0: this process's alone). */
  get epoch(): number {
    return this.kept?.epoch ?? 0;
  }

  get origin(): string {
    return this.log.sequencer.origin;
  }

  private get size(): number {
    return Math.min(this.durable, this.log.sequencer.log.size);
  }

  /**
   * Write what is logged and not yet stored (one append at a time); resolves once it is (or failed: then rejects).
   * Calls made while one is in flight share the next (a busy checkpoint route costs one append at a time, not one each).
   */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.chain.then(() => {
      this.queued = undefined;
      return this.persist();
    });
    this.queued = next;
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async persist(): Promise<void> {
    const k = this.kept;
    if (!k || this.lost) return;
    const entries = this.log.sequencer.entries;
    while (this.durable < entries.length) {
      const to = Math.min(entries.length, this.durable + MAX_APPEND);
      try {
        await k.store.append(
          k.base,
          { origin: this.log.sequencer.origin, epoch: k.epoch },
          this.durable,
          entries.slice(this.durable, to),
          Buffer.from(this.log.sequencer.log.rootAt(to)).toString("hex"),
        );
      } catch (err) {
        if (k.store.isTakeover(err)) {
          this.lost = true;
          this.log.seal(`${(err as Error).message}; this process's log ends at ${this.durable}`);
        }
        throw err;
      }
      this.durable = to;
    }
  }

  /** Every `ms`, store what is logged (the checkpoint route stores before it signs, too), then tell `synced` (the anchor). */
  start(ms: number, synced: () => void = () => undefined): void {
    this.timer ??= setInterval(
      () =>
        void this.sync().then(synced, (e: Error) => {
          this.kept?.onError(e);
          synced();
        }),
      ms,
    );
    this.timer.unref();
  }

  /** Log what is queued within `budgetMs`, store it, and sign what is stored. A store that fails leaves the last durable size signed. */
  async checkpoint(budgetMs: number): Promise<TransitionCheckpoint> {
    this.log.flush(budgetMs);
    await this.sync().catch((e: Error) => this.kept?.onError(e));
    return this.current();
  }

  async status(budgetMs: number): Promise<TransitionStatus> {
    const cp = await this.checkpoint(budgetMs);
    const log = this.log;
    return {
      ...cp,
      backlog: log.backlog,
      dropped: log.dropped,
      refused: log.refused,
      ...(log.lastRefusal === undefined ? {} : { lastRefusal: log.lastRefusal }),
      ...(this.restarted ? { restarted: this.restarted } : {}),
    };
  }

  /** The signed checkpoint of what is durable now (no flush, no write). */
  current(): TransitionCheckpoint {
    const cp = this.log.checkpointAt(this.size);
    return cp.sealed && cp.sealed.size > cp.size ? { ...cp, sealed: { ...cp.sealed, size: cp.size } } : cp;
  }

  /** Entries start..start+limit−1 of the durable log. */
  entries(start: number, limit: number): string[] {
    return this.log.entries(start, Math.max(0, Math.min(limit, this.size - start)));
  }

  /** The RFC 6962 consistency proof from size `old` to `next` (both within the durable log), base64 hashes. */
  consistency(old: number, next: number): string[] | string {
    if (old > next || next > this.size) return `sizes ${old} → ${next} are not within the log's ${this.size} durable entries`;
    if (old === 0) return []; // the empty tree is a prefix of every tree
    return this.log.sequencer.log.consistencyProof(old, next).map((h) => Buffer.from(h).toString("base64"));
  }

  /**
   * Log what is queued (within CLOSE_FLUSH_MS; a kept log still restoring logs nothing, its queue waits), store it and
   * close the store: the ledgers' last events are queued, not yet logged, and only what is logged is stored.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    if (!this.kept) return;
    this.log.flush(CLOSE_FLUSH_MS);
    await this.sync().catch((e: Error) => this.kept!.onError(e));
    await this.kept.store.close();
  }
}

/** This process's own log (no store): a new incarnation, `<base>/<random>`. */
export function incarnationLog(o: TransitionLogOptions): ServedTransitionLog {
  return new ServedTransitionLog(newLog(o, incarnationOrigin(o.base)));
}

function newLog(o: TransitionLogOptions, origin: string): EscrowTransitionLog {
  return new EscrowTransitionLog(o.clock, { origin, signerKey: o.signerKey, maxEntries: o.maxEntries, maxBacklog: o.maxBacklog });
}

/**
 * The kept log of `base` in `store`, continued (see the file's comment). `check`, given the restored log, answers why
 * it must not be continued (behind or forked from what was published), or undefined.
 */
export async function openDurableTransitionLog(
  store: TransitionLogStore,
  o: TransitionLogOptions & { check?: (log: EscrowTransitionLog) => Promise<string | undefined> },
): Promise<ServedTransitionLog> {
  const onError = o.onError ?? (() => undefined);
  await store.migrate();
  const fresh = newLog(o, incarnationOrigin(o.base));
  const claimed = await store.claim(o.base, { origin: fresh.sequencer.origin, vkey: fresh.vkey });
  let log = claimed.origin === fresh.sequencer.origin ? fresh : newLog(o, claimed.origin);
  let why: string | undefined;
  if (log.vkey !== claimed.vkey) why = `its checkpoints were signed by another key (${claimed.vkey}; transitionsKeyFile now holds another)`;
  else if (claimed.entries.length < claimed.size) why = `the store holds ${claimed.entries.length} of its ${claimed.size} entries`;
  else adopt(log, claimed.entries);
  if (why === undefined && claimed.size > 0 && Buffer.from(log.sequencer.log.root()).toString("hex") !== claimed.root) why = "its entries do not hash to the stored root";
  if (claimed.origin !== fresh.sequencer.origin) why ??= await o.check?.(log);
  let restarted: LogRestart | undefined;
  if (why !== undefined) {
    restarted = { origin: claimed.origin, size: claimed.size, reason: why };
    log = newLog(o, incarnationOrigin(o.base));
    const origin = log.sequencer.origin;
    await store.replace(o.base, claimed, { origin, vkey: log.vkey });
    onError(new Error(`transition log ${claimed.origin} (size ${claimed.size}) not continued: ${why}; a new log ${origin} starts`));
  }
  const served = new ServedTransitionLog(log, { store, base: o.base, epoch: claimed.epoch, onError });
  served.durable = restarted ? 0 : claimed.entries.length;
  served.restarted = restarted;
  await served.sync();
  if (log.sequencer.log.size >= (o.maxEntries ?? Infinity)) log.seal(`the log holds ${o.maxEntries} entries, its limit`);
  if (!restarted && claimed.entries.length > 0) {
    const release = log.holdForRestore();
    served.restored = restoreState(served, claimed.entries)
      .then(async (invalid) => {
        if (invalid === undefined) return;
        log.seal(`its stored entries do not re-execute (${invalid}); this process's log ends at ${claimed.entries.length}`);
        const next = newLog(o, incarnationOrigin(o.base));
        await store.replace(o.base, claimed, { origin: next.sequencer.origin, vkey: next.vkey }); // the next start begins a new log
        onError(new Error(`transition log ${claimed.origin} (size ${claimed.size}) sealed: ${invalid}; the next start names a new log`));
      })
      .catch((err: Error) => onError(err))
      .finally(() => {
        release();
        if (!served.closed) void served.sync().catch((e: Error) => onError(e));
      });
  }
  return served;
}

/** The stored entries, as stored, into the log's Merkle tree (its root is then held to the stored one, and to the anchors). */
function adopt(log: EscrowTransitionLog, entries: readonly Buffer[]): void {
  const s = log.sequencer;
  for (const bytes of entries) {
    s.entries.push(bytes);
    s.log.appendEntry(bytes);
  }
}

/** One slice of the restore's work, then the event loop turns (requests and store replies are served between). */
const RESTORE_SLICE_MS = 10;
/** State tree writes per slice (each ~log2(leaves) hashes: ~20 µs unloaded, ~5–10 ms a slice). */
const TREE_WRITES_PER_SLICE = 512;

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Rebuild a continued log's state (see the file's comment): re-execute each stored entry on the leaves it touches (the
 * machine alone, no hashing), each held to its stored bytes (canonical); build the state tree once from the resulting
 * leaves (the hashing once per leaf, not once per transition) and hold it to the last entry's post root; then log the
 * previous process's ledgers closed (`closePrevious`). In slices, the event loop turning between them. Why the entries
 * are not a valid log, or undefined. Stops (undefined) if the log is closed meanwhile.
 */
async function restoreState(served: ServedTransitionLog, entries: readonly Buffer[]): Promise<string | undefined> {
  await turn(); // the process serves first
  const log = served.log;
  const leaves = new Map<string, string | undefined>();
  const open = new Map<string, { sku: string; region: string; id: string }>();
  const units = new Map<string, { sku: string; region: string }>();
  let post: Uint8Array | undefined;
  let until = performance.now() + RESTORE_SLICE_MS;
  for (let i = 0; i < entries.length; i++) {
    if (performance.now() > until) {
      await turn();
      if (served.closed) return undefined;
      until = performance.now() + RESTORE_SLICE_MS;
    }
    let entry: Entry;
    try {
      entry = decodeEntry(entries[i]!);
    } catch (e) {
      return `entry ${i} is not an entry (${(e as Error).message})`;
    }
    // The state tree's scheme: a log begun on the 256-level tree (before the compact one) starts from its empty root.
    if (i === 0 && !hashEquals(entry.pre, ESCROW_EMPTY_ROOT)) return "entry 0 does not start from the compact state tree's empty root (a log kept before the escrow's state moved to it)";
    const tx = parseEscrowTx(entry.tx);
    if (typeof tx === "string") return `entry ${i} does not replay (${tx})`;
    const after = executeEscrow(tx, new Map(escrowKeys(tx).map((k) => [k, leaves.get(k)])));
    if (typeof after === "string") return `entry ${i} does not replay (${after})`;
    for (const [k, v] of after) leaves.set(k, v);
    if (!encodeEntry(entry).equals(entries[i]!)) return `entry ${i} does not replay to its stored bytes`;
    post = entry.post;
    units.set(freeKey(tx.sku, tx.region), { sku: tx.sku, region: tx.region });
    if (tx.op === "reserve") open.set(`${tx.sku}\n${tx.id}`, { sku: tx.sku, region: tx.region, id: tx.id });
    else if (tx.op === "commit" || tx.op === "cancel" || tx.op === "expire" || tx.op === "void") open.delete(`${tx.sku}\n${tx.id}`);
  }
  const writes = [...leaves].filter(([, v]) => v !== undefined).map(([k, v]) => [smtKey(k), Buffer.from(v!, "utf8")] as const);
  const tree = log.sequencer.state.tree;
  for (let i = 0; i < writes.length; i += TREE_WRITES_PER_SLICE) {
    tree.setMany(writes.slice(i, i + TREE_WRITES_PER_SLICE));
    await turn();
    if (served.closed) return undefined;
  }
  if (post && !hashEquals(tree.root(), post)) return "the state its transitions make is not its last entry's post root";
  closePrevious(log, open, units);
  return undefined;
}

/**
 * The previous process's ledgers ended with it: void every reservation still open and debit every free unit, so the
 * state is what this process's ledgers start from (nothing; their first refill takes the lease as it stands).
 */
function closePrevious(log: EscrowTransitionLog, open: Map<string, { sku: string; region: string; id: string }>, units: Map<string, { sku: string; region: string }>): void {
  for (const r of open.values()) log.sequencer.submit({ op: "void", ...r });
  for (const [key, u] of units) {
    const free = log.sequencer.state.read(key);
    if (free !== undefined) log.sequencer.submit({ op: "debit", ...u, qty: Number(free) });
  }
}
