/**
 * runtime/ratelimit: rate limiting cores (gcra, token bucket, fixed window, sliding log, sliding-window
 * counter), atomic hierarchies and requests, the stores (memory, Redis, Redis Cluster, failure
 * policies), the envoyproxy/ratelimit-compatible config and service (RLS v3 gRPC + HTTP), the global
 * lease allocator and adaptive limits. See docs/ratelimit.md.
 */
export { createGcraLimiter, type GcraLimiter, type GcraCheck } from "./core/gcra-limiter.js";
export { type Algorithm, type Decision, type Limit } from "./core/limit.js";
export { type Admission, type Level, type HierarchyDecision } from "./core/hierarchy.js";
export { type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "./core/request.js";
export type { RateLimitStore } from "./store/port.js";
export { type RedisStoreOptions } from "./store/redis.js";
export { type FailureMode, type OutageReport } from "./store/resilient.js";
export { type DomainConfig, type DescriptorConfig, type Unit } from "./config/schema.js";
export { type CompiledDomain, type Rule } from "./config/compile.js";
export { type LoadedConfig } from "./config/load.js";
export { type Entry, type Match } from "./config/match.js";
export { type RlsOptions } from "./service/rls.js";
export { type RlsRequest, type RlsResponse, type DescriptorStatus } from "./service/types.js";
export { type Lease, type ResourceConfig } from "./global/allocator.js";
export { type Announcement } from "./global/gossip.js";
export { type LeaseSource } from "./global/sync.js";
export { type ShareAlgorithm } from "./global/shares.js";
export { type AimdOptions } from "./adaptive/aimd.js";
export { type BurnWindow } from "./adaptive/burn-rate.js";
