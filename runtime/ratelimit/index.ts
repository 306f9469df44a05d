/**
 * runtime/ratelimit: rate limiting cores (gcra, token bucket, fixed window, sliding log, sliding-window
 * counter), atomic hierarchies, the memory store, the global lease allocator and adaptive limits — the
 * pure, dependency-free part, cheap to import from any service. The Redis adapters (store/redis.ts,
 * global/redis-allocator.ts), the config (config/) and the RLS/HTTP service (service/) are imported
 * from their own modules. See docs/ratelimit.md.
 */
export { createGcraLimiter, type GcraLimiter, type GcraCheck } from "./core/gcra-limiter.js";
export { ALGORITHMS, admissionBound, validateLimit, LimitError, type Algorithm, type Decision, type Limit } from "./core/limit.js";
export { step } from "./core/algorithms.js";
export { decideLevels, type Level, type HierarchyDecision } from "./core/hierarchy.js";
export type { RateLimitStore } from "./store/store.js";
export { MemoryStore } from "./store/memory.js";
export { ResilientStore, type FailureMode, type OutageReport } from "./store/resilient.js";
export { hierarchyKeys, keySlot } from "./store/keys.js";
export { GlobalAllocator, type Lease, type ResourceConfig } from "./global/allocator.js";
export { RegionalLimiter, globalOverageBound } from "./global/regional.js";
export { GossipAllocator, type Announcement } from "./global/gossip.js";
export { LeaseSync, type LeaseSource } from "./global/sync.js";
export { proportionalShare, staticShare, entitlements, type ShareAlgorithm } from "./global/shares.js";
export { AimdLimiter, type AimdOptions } from "./adaptive/aimd.js";
export { BurnRateThrottle, SRE_WORKBOOK_WINDOWS, type BurnWindow } from "./adaptive/burn-rate.js";
