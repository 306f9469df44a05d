/**
 * The escrow's state-transition log (runtime/fraud/escrow-log.ts): every change each served region's ledger makes —
 * refills, debits, reserve, commit, cancel, expire, void — and the refunds of its sales, as transactions with pre and
 * post state roots, in a signed RFC 6962 log anyone can replay and challenge one step of (`meridian fraud challenge`).
 *
 * The ledger's fast path only appends its event to a queue (no hashing per sale); `flush` — on each tick and when the
 * checkpoint is read, each within a time budget — executes them in order on the state tree (a compact sparse Merkle
 * tree, runtime/prooflog/csmt: ~log2(leaves) hashes a leaf written, ~80–150 µs a sale in all) and appends the entries
 * (a backlog, when sales outpace it, is logged on later flushes; `backlog` counts it). An event the machine refuses
 * (a bad transition: a bug, never a buyer's doing; or one this log cannot replay, such as the refund of a sale an
 * earlier incarnation made) is not logged, and counted in `refused` with the last reason, both served with the
 * checkpoint (transport/transitions.ts), so the log never leaves a change out silently.
 *
 * Kept or not. With PostgreSQL the log is kept there and a restart continues it (transport/transitions-durable.ts:
 * the same origin, `meridian-escrow/<regions>/<log id>`, and key; checkpoints sign only what the store holds). Without,
 * each incarnation is its own log. The log lives in this process, so a restart starts a new, empty one; had it the
 * same origin and key as the last, a client or witness that saw size N would then see size 0, or another tree: a
 * rollback or fork of one log, which a transparency log must never present. So the origin carries the incarnation,
 * `meridian-escrow/<regions>/<16 hex digits, random at start>` (`incarnationOrigin`), and the checkpoints are signed under a key of that name (C2SP
 * tlog-checkpoint: the key name is the origin): the key file's Ed25519 key when the config names one
 * (`transitionsKeyFile`; the operator's public key stays the same, its note key ID is the incarnation's), else a key
 * made at start. A verifier key of one incarnation opens none of another's checkpoints; each checkpoint carries its
 * `vkey`, and each process's anchor in the map (transport/transitions-anchor.ts) records the origin and key of each.
 *
 * Memory is bounded: the log, its state tree and its queue live in this process, so at `maxEntries` logged, or when
 * the queue passes `maxBacklog` (sales outpacing the hashing for long), the log is sealed — it stops recording and its
 * checkpoint says so (`sealed`: why, at which size), so a challenger knows the log covers a prefix of this
 * incarnation's history and nothing after it. Sealing never touches a sale.
 */
import { createHash, randomBytes } from "node:crypto";
import { buyerOf, EscrowSequencer, FraudInputError, type EscrowTx } from "../fraud/index.js";
import { generateKey, newSigner, signCheckpoint, verifierKeyOf, type Signer } from "../prooflog/index.js";
import type { Clock } from "../common/clock.js";
import type { LedgerEvent, RegionLedger } from "./core/ledger.js";

/** A ledger event (or a refund) of one region's ledger for one SKU, as queued for the log. */
export type Pending = { sku: string; region: string; e: LedgerEvent | { op: "refund"; id: string } };

/**
 * Where the escrow service sends its ledgers' events (service.ts): this log in the service's thread, or a worker
 * thread's (transport/transitions-thread.ts). `flush` logs (or hands over) what is queued, within `budgetMs`.
 */
export interface TransitionSink {
  attach(ledger: RegionLedger, sku: string, region: string): void;
  refund(sku: string, region: string, id: string): void;
  readonly backlog: number;
  readonly restoring: boolean;
  flush(budgetMs?: number): void;
}

export interface TransitionCheckpoint {
  origin: string;
  vkey: string;
  size: number;
  root: string;
  checkpoint: string;
  /** Present once the log stopped recording: it covers its first `size` entries of this incarnation only. */
  sealed?: { reason: string; size: number };
}

/** A new incarnation's origin: `<base>/<16 random hex digits>` (see the file's comment). */
export function incarnationOrigin(base: string): string {
  return `${base}/${randomBytes(8).toString("hex")}`;
}

/** Defaults: about 1 GB at most for a 10^6-entry log with its tree, state and a full queue. */
export const TRANSITION_LOG_LIMITS = { maxEntries: 1_000_000, maxBacklog: 100_000 };

export class EscrowTransitionLog implements TransitionSink {
  readonly sequencer: EscrowSequencer;
  readonly vkey: string;
  private readonly signer: Signer;
  private pending: Pending[] = [];
  private head = 0;
  /** Events the machine refused (each would have been an invalid transition), and the last reason. */
  refused = 0;
  lastRefusal?: string;
  /** Why and where the log stopped recording (see the file's comment); events after it are counted in `dropped`. */
  sealed?: { reason: string; size: number };
  dropped = 0;
  private readonly maxEntries: number;
  private readonly maxBacklog: number;
  /** Set while a kept log's state is rebuilt after a restart (transport/transitions-durable.ts): events wait in the queue. */
  private restoringState = false;
  private readonly buyers = new Map<string, string>();

  /**
   * `origin`: the log's origin (one incarnation's: `incarnationOrigin`); `signerKey`: an Ed25519 note signer key,
   * whatever its name, that signs under the origin's name; default a fresh key.
   */
  constructor(
    private readonly clock: Clock,
    o: { origin: string; signerKey?: string; maxEntries?: number; maxBacklog?: number },
  ) {
    this.maxEntries = o.maxEntries ?? TRANSITION_LOG_LIMITS.maxEntries;
    this.maxBacklog = o.maxBacklog ?? TRANSITION_LOG_LIMITS.maxBacklog;
    const skey = o.signerKey === undefined ? generateKey(o.origin).signerKey : renamedSignerKey(o.signerKey, o.origin);
    this.vkey = verifierKeyOf(skey);
    const signer = (this.signer = newSigner(skey));
    this.sequencer = new EscrowSequencer(signer.name, signer);
  }

  /** Record every change of a region's ledger for a SKU from now on. */
  attach(ledger: RegionLedger, sku: string, region: string): void {
    ledger.onEvent = (e) => this.enqueue(timed(this.clock, sku, region, e));
  }

  /** Queue an event as `attach` does (a worker thread's log, given its parent's events: transport/transitions-thread.ts). */
  enqueue(p: Pending): void {
    if (this.sealed) {
      this.dropped++;
      return;
    }
    this.pending.push(p);
    if (this.backlog > this.maxBacklog) this.seal(`more than ${this.maxBacklog} ledger events queued (sales outpaced the log)`);
  }

  /** Stop recording: what is logged stays served and challengeable; the queue is dropped. */
  seal(reason: string): void {
    this.dropped += this.backlog;
    [this.pending, this.head] = [[], 0];
    this.sealed = { reason, size: this.sequencer.log.size };
  }

  /** A sale of `region` was refunded (its units went back to the store's pool). */
  refund(sku: string, region: string, id: string): void {
    this.enqueue({ sku, region, e: { op: "refund", id } });
  }

  /**
   * Whether the state tree is being rebuilt from the stored entries (a kept log's restart): until then nothing queued
   * is executed or logged — each new transition needs the state it applies to — and the checkpoints sign the stored log.
   */
  get restoring(): boolean {
    return this.restoringState;
  }

  /** Hold every flush until the returned function is called (the state is rebuilt, or the log sealed). */
  holdForRestore(): () => void {
    this.restoringState = true;
    return () => void (this.restoringState = false);
  }

  /** Events queued and not yet logged (a backlog when sales outpace the budgeted flushes). */
  get backlog(): number {
    return this.pending.length - this.head;
  }

  /**
   * Execute and log the queued events in order — all of them, or as many as fit in `budgetMs` of wall time (the tick
   * and the routes pass one, so hashing never takes a tick's turn for long; the rest waits for the next flush).
   */
  flush(budgetMs = Infinity): void {
    if (this.restoringState) return;
    const until = performance.now() + budgetMs;
    while (this.head < this.pending.length) {
      if (performance.now() > until) break;
      const { sku, region, e } = this.pending[this.head++]!;
      const tx: EscrowTx =
        e.op === "reserve"
          ? { op: "reserve", sku, region, id: e.id, buyer: this.buyer(e.user), qty: e.qty, expiresAt: e.expiresAt }
          : e.op === "commit" || e.op === "cancel"
            ? { op: e.op, sku, region, id: e.id, buyer: this.buyer(e.user) }
            : e.op === "expire"
              ? { op: "expire", sku, region, id: e.id, at: e.at! }
              : e.op === "refill" || e.op === "debit"
                ? { op: e.op, sku, region, qty: e.qty }
                : { op: e.op, sku, region, id: (e as { id: string }).id };
      try {
        this.sequencer.submitBuilt(tx); // built here with exactly its op's fields; the fields are checked
      } catch (err) {
        if (!(err instanceof FraudInputError)) throw err;
        this.refused++;
        this.lastRefusal = `${tx.op} in ${region}: ${err.message}`;
      }
      if (this.sequencer.log.size >= this.maxEntries) {
        this.seal(`the log holds ${this.maxEntries} entries, its limit`);
        return;
      }
    }
    if (this.head === this.pending.length) [this.pending, this.head] = [[], 0];
    else if (this.head > 4096 && this.head * 2 > this.pending.length) [this.pending, this.head] = [this.pending.slice(this.head), 0];
  }

  /** A buyer's pseudonym, remembered for the user's next event (a sale's commit follows its reserve). */
  private buyer(user: string): string {
    let b = this.buyers.get(user);
    if (b === undefined) {
      if (this.buyers.size >= 4096) this.buyers.clear();
      this.buyers.set(user, (b = buyerOf(user)));
    }
    return b;
  }

  /** The signed checkpoint of what is logged, after a flush within `budgetMs` (default: everything queued). */
  checkpoint(budgetMs = Infinity): TransitionCheckpoint {
    this.flush(budgetMs);
    const s = this.sequencer;
    const cp: TransitionCheckpoint = { origin: s.origin, vkey: this.vkey, size: s.log.size, root: Buffer.from(s.log.root()).toString("hex"), checkpoint: s.checkpoint() };
    return this.sealed ? { ...cp, sealed: this.sealed } : cp;
  }

  /**
   * The signed checkpoint of the first `size` entries (a durable prefix: transport/transitions-durable.ts signs only
   * what its store holds), with `sealed` as it stands.
   */
  checkpointAt(size: number): TransitionCheckpoint {
    const root = this.sequencer.log.rootAt(size);
    const cp: TransitionCheckpoint = {
      origin: this.sequencer.origin,
      vkey: this.vkey,
      size,
      root: Buffer.from(root).toString("hex"),
      checkpoint: signCheckpoint({ origin: this.sequencer.origin, size, root, extensions: [] }, [this.signer]),
    };
    return this.sealed ? { ...cp, sealed: this.sealed } : cp;
  }

  /** Entries start..start+limit−1 (their canonical JSON text, what the log's leaves hash). */
  entries(start: number, limit: number): string[] {
    return this.sequencer.entries.slice(start, start + limit).map((b) => b.toString("utf8"));
  }
}

/** An event as the log queues it: an expiry the ledger did not time is timed now (its tx carries the time). */
export function timed(clock: Clock, sku: string, region: string, e: LedgerEvent): Pending {
  return { sku, region, e: e.op === "expire" && e.at === undefined ? { ...e, at: clock.now() } : e };
}

/**
 * The same note signer key under another name (C2SP signed-note: key ID = SHA-256(name ‖ "\n" ‖ key)[:4], so the
 * ID follows the name): the incarnation's signer. A malformed key is refused as `verifierKeyOf` refuses it.
 */
function renamedSignerKey(skey: string, name: string): string {
  const vkey = verifierKeyOf(skey); // checks the key (form, key ID)
  const material = (s: string, pluses: number) => s.trim().split("+").slice(pluses).join("+");
  const pub = Buffer.from(material(vkey, 2), "base64"); // algorithm ‖ public key
  const id = createHash("sha256").update(`${name}\n`).update(pub).digest().subarray(0, 4).toString("hex");
  return `PRIVATE+KEY+${name}+${id}+${material(skey, 4)}`;
}
