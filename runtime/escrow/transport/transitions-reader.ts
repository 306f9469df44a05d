/**
 * What the routes (transitions.ts) and the anchor (transitions-anchor.ts) read of a served transition log, wherever it
 * runs: a ServedTransitionLog in the service's thread (transitions-durable.ts), or one on a worker thread
 * (transitions-thread.ts).
 */
import type { TransitionCheckpoint } from "../transition-log.js";
import type { LogRestart } from "./transitions-durable.js";

/** A checkpoint as the checkpoint route serves it: the signed durable log, and what the log did with the ledgers' events. */
export interface TransitionStatus extends TransitionCheckpoint {
  /** Ledger events queued, not yet logged. */
  backlog: number;
  /** Events not logged because the log was sealed. */
  dropped: number;
  /** Events the machine refused (so not logged), and the last one's reason. */
  refused: number;
  lastRefusal?: string;
  /** The stored log this one replaced, at which size and why. */
  restarted?: LogRestart;
}

export interface TransitionLogReader {
  readonly origin: string;
  /** The writer epoch of a kept log (0: this process's alone). */
  readonly epoch: number;
  /** Log what is queued within `budgetMs`, store it, and sign what is stored. */
  status(budgetMs: number): Promise<TransitionStatus>;
  /** The signed checkpoint of what is durable now (no flush, no write). */
  current(): TransitionCheckpoint;
  entries(start: number, limit: number): string[] | Promise<string[]>;
  consistency(old: number, next: number): string[] | string | Promise<string[] | string>;
  /** Every `ms`, store what is logged, then tell `synced`. */
  start(ms: number, synced?: () => void): void;
  close(): Promise<void>;
}
