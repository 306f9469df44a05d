/**
 * The quota service's store, as both stores keep it (store.ts: PostgreSQL; store-file.ts: embedded). The contract,
 * which test/runtime/quota/store-contract.test.ts checks against both:
 * - `open` takes the store for one writer (a second is refused once `lockWaitMs` passes) and returns the committed
 *   state and the highest timestamp any earlier process committed or closed;
 * - `commit` is durable before it resolves; `beforeCommit` (the audit append) runs first, and when it fails nothing
 *   is stored; a commit that fails stores nothing either;
 * - `readUsage` answers a node's usage as committed, or AS OF an HLC timestamp (the amounts committed at or below it).
 */
import type { Timestamp } from "../clock/index.js";
import type { QuotaState, StateChanges } from "./state.js";

export interface QuotaStore {
  /** Where the state is kept, as logs and the dashboard say it. */
  readonly description: string;
  open(): Promise<QuotaState & { closed: Timestamp }>;
  commit(changes: StateChanges, ts: Timestamp, beforeCommit?: () => Promise<void>): Promise<void>;
  /** Close `ts` with no write: an idle writer keeps a standby's watermark moving. */
  heartbeat(ts: Timestamp): Promise<void>;
  readUsage(node: string, asOf?: Timestamp): Promise<Record<string, number>>;
  /** For /readyz: true, or why the writer can no longer commit. */
  ping(): Promise<true | string>;
  close(): Promise<void>;
}
