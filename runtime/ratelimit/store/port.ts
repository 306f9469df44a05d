/**
 * The store port: decide one rate limit request (its checks, under a charging policy) at a time,
 * atomically per check and — within one Redis or one Cluster slot — per request. Adapters: memory (the
 * embedded default), redis (a single Redis or a Redis Cluster, one script call per batch), resilient
 * (a remote store with a failure policy). Every adapter passes test/runtime/ratelimit/store/suite.ts.
 */
import type { ChargePolicy, Check, CheckResult, CounterLevel } from "../core/request.js";
import type { Decision } from "../core/limit.js";

export interface RateLimitStore {
  /**
   * Decide a request. `nowMs` is the caller's clock; a store with its own time source (Redis `TIME`)
   * may ignore it — then time is that store's, the same for every replica.
   */
  decide(checks: readonly Check[], policy: ChargePolicy, nowMs: number): Promise<CheckResult[]>;
  /** A counter's current answer without charging it (a cost-0 peek), for the admin API. */
  peek(level: CounterLevel, nowMs: number): Promise<Decision>;
  /** Forget a counter's state (admin reset); true when there was any. */
  reset(level: CounterLevel): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A store that decides in the caller's turn (memory): the service then answers without a promise. The
 * answers may be the store's own reused records (no allocation per decision), valid until its next
 * call: the caller reads them first.
 */
export interface SyncDecisions {
  decideChecksShared(checks: readonly Check[], policy: ChargePolicy, nowMs: number): readonly CheckResult[];
}

export function syncDecisions(store: RateLimitStore): SyncDecisions | null {
  return typeof (store as Partial<SyncDecisions>).decideChecksShared === "function" ? (store as RateLimitStore & SyncDecisions) : null;
}
