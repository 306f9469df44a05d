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
