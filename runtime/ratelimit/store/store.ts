/**
 * The store port: decide a hierarchy of levels for a cost at a time, atomically. Adapters: memory (the
 * embedded default), redis (one Lua script per decision), resilient (a remote store with a local
 * fallback when it is unreachable). Every adapter must pass test/runtime/ratelimit/store/suite.ts.
 */
import type { HierarchyDecision, Level } from "../core/hierarchy.js";

export interface RateLimitStore {
  decide(levels: readonly Level[], cost: number, nowMs: number): Promise<HierarchyDecision>;
  close(): Promise<void>;
}
