/**
 * runtime/ratelimit: rate limiting cores (gcra, token bucket, fixed window, sliding log, sliding-window
 * counter), atomic hierarchies, stores (memory, redis), the global lease allocator, adaptive limits,
 * the envoyproxy/ratelimit-compatible config and the RLS/HTTP service. See docs/ratelimit.md.
 */
export { createGcraLimiter, type GcraLimiter, type GcraCheck } from "./core/gcra-limiter.js";
export { ALGORITHMS, admissionBound, validateLimit, LimitError, type Algorithm, type Decision, type Limit } from "./core/limit.js";
export { step } from "./core/algorithms.js";
export { decideLevels, type Level, type HierarchyDecision } from "./core/hierarchy.js";
export type { RateLimitStore } from "./store/store.js";
export { MemoryStore } from "./store/memory.js";
export { RedisStore, type RedisStoreOptions } from "./store/redis.js";
export { ResilientStore, type FailureMode, type OutageReport } from "./store/resilient.js";
export { hierarchyKeys, keySlot } from "./store/keys.js";
export { GlobalAllocator, type Lease, type ResourceConfig } from "./global/allocator.js";
export { RegionalLimiter, globalOverageBound } from "./global/regional.js";
export { RedisLeaseAllocator } from "./global/redis-allocator.js";
export { GossipAllocator, type Announcement } from "./global/gossip.js";
export { proportionalShare, staticShare, entitlements, type ShareAlgorithm } from "./global/shares.js";
export { AimdLimiter, type AimdOptions } from "./adaptive/aimd.js";
export { BurnRateThrottle, SRE_WORKBOOK_WINDOWS, type BurnWindow } from "./adaptive/burn-rate.js";
export { parseRateLimitConfig, ConfigError, type DomainConfig } from "./config/schema.js";
export { RateLimitService, type RlsRequest, type RlsResponse } from "./service/rls.js";
export { startServer, type ServerOptions, type RunningServer } from "./service/server.js";
