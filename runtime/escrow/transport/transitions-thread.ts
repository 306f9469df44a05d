/**
 * The escrow's transition log on a worker thread (transitions-worker.ts), as the service and the routes see it: a sink
 * for the ledgers' events (service.ts) and a reader of the served log (transitions.ts, the anchor). The ledgers' events
 * of one turn of the event loop go to the worker as one message; the worker executes and hashes them, stores them
 * (a kept log) and signs checkpoints, on another core than the sales'.
 *
 * What the log guarantees is the served log's (transitions-durable.ts), unchanged: the checkpoint route signs only what
 * is durable, and the worker logs the events in the order the ledgers made them (one port, in order). Should the worker
 * stop (a crash, an exception, out of memory), sales go on, as when the log is sealed: this side keeps the last durable
 * checkpoint the worker signed, serves it sealed (`the transition log's thread stopped: …`, at its size), counts the
 * events it drops in `dropped`, and answers entry and proof reads 503 (the entries were the worker's).
 */
import type { Worker } from "node:worker_threads";
import type { Clock } from "../../common/clock.js";
import { startWorker } from "../../common/worker.js";
import { HttpError } from "../../kit/index.js";
import type { RegionLedger } from "../core/ledger.js";
import { timed, type Pending, type TransitionCheckpoint, type TransitionSink } from "../transition-log.js";
import type { Anchor } from "./transitions-anchor-judge.js";
import type { TransitionLogReader, TransitionStatus } from "./transitions-reader.js";
import type { ServedLogSettings } from "./transitions-open-served.js";

/** What the worker is started with. */
export interface ThreadInit {
  settings: ServedLogSettings;
  /** A kept log is held to the map's anchors (the worker asks for them: `anchors?`). */
  checked: boolean;
}

type Call = { m: "status"; budgetMs: number } | { m: "entries"; start: number; limit: number } | { m: "consistency"; old: number; next: number } | { m: "close" };

export type ToWorker =
  { t: "events"; events: Pending[] } | { t: "seal"; reason: string } | ({ t: "call"; id: number } & Call) | { t: "start"; ms: number } | { t: "anchors"; id: number; anchors: Anchor[] | string };

export type FromWorker =
  | { t: "ready"; origin: string; epoch: number; current: TransitionCheckpoint }
  | { t: "failed"; error: string }
  | { t: "reply"; id: number; value?: unknown; error?: string }
  | { t: "synced"; current: TransitionCheckpoint }
  /** The log's size when it began to log the events it is sent (after a kept log's restore: its stored entries and the restart's). */
  | { t: "restored"; size: number }
  /** How many events the worker has taken off its port (queued in its log), sent on each message of events. */
  | { t: "took"; n: number }
  | { t: "anchors?"; id: number; origin: string }
  | { t: "warn"; message: string };

/**
 * How long the ledgers' events wait to go to the worker together, and how many go at once before that. A message a
 * turn of the event loop (before) cost the sales' thread ~9% of its busy time under the bench (postMessage, and the
 * wake-up of the worker it signals, a few events each); at most 200 messages a second cost next to nothing. A
 * checkpoint read hands over what waits first, so nothing read is behind for it.
 */
const LINGER_MS = 5;
const MAX_QUEUED = 4096;

/** The longest `close` waits for the worker to store what is logged and close its store. */
const CLOSE_WAIT_MS = 15_000;
/** The longest a read waits for the worker's answer (a status's store write included: two PostgreSQL query timeouts). */
const CALL_WAIT_MS = 20_000;

export interface ThreadHooks {
  /** Times an expiry the ledger did not time (as the log in this thread would). */
  clock: Clock;
  onError: (err: Error) => void;
  /** The map's anchors of `origin`, or why they could not be read (a kept log's check: transitions-anchor.ts). */
  anchors?: (origin: string) => Promise<Anchor[] | string>;
  /** The longest a read waits for the worker (then 503: a worker stuck in a loop answers nothing); default CALL_WAIT_MS. */
  callTimeoutMs?: number;
  /** The worker's module (default transitions-worker.js; tests give a shim that runs it and can break it). */
  workerModule?: URL;
}

export class TransitionLogThread implements TransitionSink, TransitionLogReader {
  private queued: Pending[] = [];
  private linger?: NodeJS.Timeout;
  /** Messages of events posted to the worker (for tests and the curious: LINGER_MS batches them). */
  posted = 0;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 0;
  private latest: TransitionCheckpoint;
  /** Why the worker stopped, once it has. */
  private stopped?: string;
  /** Events dropped here: once the worker stopped, or stopped taking them (`refusing`). */
  private lost = 0;
  /** Events handed to the worker, and how many of them it took (queued in its log: the rest wait in its port). */
  private sent = 0;
  private took = 0;
  /** Set when the worker stopped taking events (more than maxBacklog wait in its port): the log is sealed, events are dropped here. */
  private refusing?: string;
  /** The log's size when it began to log them (its `restored` message; until then none is logged). */
  private base?: number;
  /** The last status the worker answered (its counts). */
  private counted?: TransitionStatus;
  private closing = false;
  private closed?: Promise<void>;
  private synced: () => void = () => undefined;
  readonly restoring = false;

  private constructor(
    private readonly worker: Worker,
    private readonly hooks: ThreadHooks,
    readonly origin: string,
    readonly epoch: number,
    current: TransitionCheckpoint,
    private readonly maxBacklog: number,
  ) {
    this.latest = current;
    worker.on("message", (m: FromWorker) => this.onMessage(m));
    worker.on("error", (err) => this.stop(`${err.message}`));
    worker.on("exit", (code) => this.stop(`it exited (code ${code})`));
  }

  /** Start the worker and open the log there (a kept log: claimed and read back); rejects as opening it in this thread would. */
  static open(settings: ServedLogSettings, hooks: ThreadHooks): Promise<TransitionLogThread> {
    const init: ThreadInit = { settings, checked: hooks.anchors !== undefined };
    const worker = startWorker(hooks.workerModule ?? new URL("./transitions-worker.js", import.meta.url), init);
    return new Promise((resolve, reject) => {
      const done = (): void => void (worker.off("message", opening), worker.off("error", failed), worker.off("exit", exited));
      const opening = (m: FromWorker): void => {
        if (m.t === "anchors?") void answerAnchors(worker, hooks, m);
        else if (m.t === "warn") hooks.onError(new Error(m.message));
        else if (m.t === "failed" || m.t === "ready") {
          done();
          if (m.t === "failed") void worker.terminate().finally(() => reject(new Error(m.error)));
          else resolve(new TransitionLogThread(worker, hooks, m.origin, m.epoch, m.current, settings.maxBacklog));
        }
      };
      const failed = (err: Error): void => {
        done();
        reject(new Error(`the transition log's thread failed to start: ${err.message}`));
      };
      // A worker that ends before it is ready (process.exit in it) fails the open, which would otherwise never settle.
      const exited = (code: number): void => {
        done();
        reject(new Error(`the transition log's thread failed to start: it exited (code ${code}) before it was ready`));
      };
      worker.on("message", opening);
      worker.once("error", failed);
      worker.once("exit", exited);
    });
  }

  attach(ledger: RegionLedger, sku: string, region: string): void {
    ledger.onEvent = (e) => this.push(timed(this.hooks.clock, sku, region, e));
  }

  refund(sku: string, region: string, id: string): void {
    this.push({ sku, region, e: { op: "refund", id } });
  }

  /** Events not yet handed to the worker (those of the last LINGER_MS at most). */
  get backlog(): number {
    return this.queued.length;
  }

  /** Hand the queued events to the worker now. */
  flush(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.queued.length === 0) return;
    const events = this.queued;
    this.queued = [];
    if (this.stopped || this.refusing) this.lost += events.length;
    else if (this.sent - this.took > this.maxBacklog) {
      // A worker stuck in a loop takes nothing: events would pile up in its port without bound. Those waiting there are
      // a backlog past maxBacklog, as the log counts one: it is sealed (when the worker turns again, after what it
      // was sent), and the events from here on are dropped and counted, as a sealed log's are.
      this.refusing = `more than ${this.maxBacklog} ledger events wait for the transition log's thread to take them (it is stuck, or far behind)`;
      this.worker.postMessage({ t: "seal", reason: this.refusing } satisfies ToWorker);
      this.lost += events.length;
    } else {
      this.posted++;
      this.sent += events.length;
      this.worker.postMessage({ t: "events", events } satisfies ToWorker);
    }
  }

  private push(p: Pending): void {
    if (this.stopped || this.refusing) {
      this.lost++;
      return;
    }
    if (this.queued.push(p) >= MAX_QUEUED) this.flush();
    else this.linger ??= setTimeout(() => this.flush(), LINGER_MS);
  }

  async status(budgetMs: number): Promise<TransitionStatus> {
    this.flush();
    if (this.stopped) return this.stoppedStatus();
    try {
      const s = (await this.call({ m: "status", budgetMs })) as TransitionStatus;
      [this.latest, this.counted] = [s, s];
      return this.lost === 0 ? s : { ...s, dropped: s.dropped + this.lost };
    } catch (err) {
      if (this.stopped) return this.stoppedStatus();
      throw err;
    }
  }

  /**
   * The last checkpoint the worker signed, sealed where it stopped, and the counts as last read. Every event sent and
   * not logged in that checkpoint (nor refused) is dropped: those the worker held or had logged after it signed, and
   * those taken since it stopped.
   */
  private stoppedStatus(): TransitionStatus {
    const { origin, vkey, size, root, checkpoint } = this.latest;
    const c = this.counted;
    const logged = this.base === undefined ? 0 : Math.max(0, size - this.base);
    return {
      origin,
      vkey,
      size,
      root,
      checkpoint,
      sealed: { reason: `the transition log's thread stopped: ${this.stopped}`, size },
      backlog: 0,
      dropped: Math.max(0, this.sent - logged - (c?.refused ?? 0)) + this.lost,
      refused: c?.refused ?? 0,
      ...(c?.lastRefusal === undefined ? {} : { lastRefusal: c.lastRefusal }),
      ...(c?.restarted ? { restarted: c.restarted } : {}),
    };
  }

  current(): TransitionCheckpoint {
    return this.latest;
  }

  async entries(start: number, limit: number): Promise<string[]> {
    return (await this.call({ m: "entries", start, limit })) as string[];
  }

  async consistency(old: number, next: number): Promise<string[] | string> {
    return (await this.call({ m: "consistency", old, next })) as string[] | string;
  }

  start(ms: number, synced: () => void = () => undefined): void {
    this.synced = synced;
    if (!this.stopped) this.worker.postMessage({ t: "start", ms } satisfies ToWorker);
  }

  /** Hand over what is queued, let the worker store it and close its store, then end the thread (every caller waits for it). */
  close(): Promise<void> {
    return (this.closed ??= this.shut());
  }

  private async shut(): Promise<void> {
    this.flush();
    this.closing = true;
    if (!this.stopped) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.call({ m: "close" }).catch(() => undefined), new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }

  /** A call to the worker; a read (not `close`, which bounds its own wait) answers 503 if the worker does not answer in time. */
  private call(c: Call): Promise<unknown> {
    if (this.stopped) return Promise.reject(new HttpError(503, "transition log unavailable", `the transition log's thread stopped: ${this.stopped}`));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (c.m !== "close") {
        const ms = this.hooks.callTimeoutMs ?? CALL_WAIT_MS;
        timer = setTimeout(() => {
          this.calls.delete(id);
          reject(new HttpError(503, "transition log unavailable", `the transition log's thread did not answer within ${ms} ms`));
        }, ms);
        timer.unref();
      }
      const settle = (): void => clearTimeout(timer);
      this.calls.set(id, { resolve: (v) => (settle(), resolve(v)), reject: (err) => (settle(), reject(err)) });
      this.worker.postMessage({ t: "call", id, ...c } satisfies ToWorker);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === "reply") {
      const c = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (m.error === undefined) c?.resolve(m.value);
      else c?.reject(new Error(m.error));
    } else if (m.t === "synced") {
      this.latest = m.current;
      this.synced();
    } else if (m.t === "took") this.took = m.n;
    else if (m.t === "restored") this.base = m.size;
    else if (m.t === "anchors?") void answerAnchors(this.worker, this.hooks, m);
    else if (m.t === "warn") this.hooks.onError(new Error(m.message));
  }

  /** The worker is gone: sales go on, the log is served as sealed at the last durable checkpoint (see the file's comment). */
  private stop(why: string): void {
    if (this.stopped) return;
    this.stopped = why;
    this.lost += this.queued.length;
    this.queued = [];
    for (const c of this.calls.values()) c.reject(new HttpError(503, "transition log unavailable", `the transition log's thread stopped: ${why}`));
    this.calls.clear();
    if (!this.closing) this.hooks.onError(new Error(`the transition log's thread stopped: ${why}; sales go on, the log is served sealed at size ${this.latest.size}`));
  }
}

/** The map's anchors for the worker's check; a hook that throws is a map that could not be read (the worker waits for an answer). */
async function answerAnchors(worker: Worker, hooks: ThreadHooks, m: { id: number; origin: string }): Promise<void> {
  let anchors: Anchor[] | string;
  try {
    anchors = hooks.anchors ? await hooks.anchors(m.origin) : [];
  } catch (err) {
    anchors = `the map's anchors of ${m.origin} could not be read to check the stored log (${(err as Error).message})`;
  }
  worker.postMessage({ t: "anchors", id: m.id, anchors } satisfies ToWorker);
}
