/**
 * runtime/ratelimit: rate limiting cores (gcra, token bucket, fixed window, sliding log, sliding-window
 * counter), atomic hierarchies and requests, the stores (memory, Redis, Redis Cluster, failure
 * policies), the envoyproxy/ratelimit-compatible config and service (RLS v3 gRPC + HTTP), the global
 * lease allocator and adaptive limits. See docs/ratelimit.md.
 */
export { createGcraLimiter, type GcraLimiter, type GcraCheck } from "./core/gcra-limiter.js";
export { ALGORITHMS, admissionBound, validateLimit, reportedLimit, LimitError, type Algorithm, type Decision, type Limit } from "./core/limit.js";
export { step } from "./core/algorithms.js";
export { decideLevels, type Level, type HierarchyDecision } from "./core/hierarchy.js";
export { decideChecks, requestAllowed, CHARGE_POLICIES, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "./core/request.js";
export type { RateLimitStore } from "./store/port.js";
export { MemoryStore } from "./store/memory.js";
export { RedisStore, type RedisStoreOptions } from "./store/redis.js";
export { ResilientStore, StoreUnavailable, FAILURE_MODES, type FailureMode, type OutageReport } from "./store/resilient.js";
export { counterKey, counterPath, counterTag, keySlot, redisKey } from "./store/keys.js";
export { parseRateLimitConfig, ConfigError, UNIT_MS, UNITS, type DomainConfig, type DescriptorConfig, type Unit } from "./config/schema.js";
export { compileDomains, type CompiledDomain, type Rule } from "./config/compile.js";
export { loadConfig, watchConfig, type LoadedConfig } from "./config/load.js";
export { matchDescriptor, wildcardMatch, type Entry, type Match } from "./config/match.js";
export { describeDomain } from "./config/describe.js";
export { RateLimitService, type RlsOptions } from "./service/rls.js";
export { BadRequestError, type RlsRequest, type RlsResponse, type DescriptorStatus } from "./service/types.js";
export { rateLimitHeaders } from "./service/headers.js";
export { startServer, type ServerOptions, type RunningServer } from "./service/server.js";
export { GlobalAllocator, type Lease, type ResourceConfig } from "./global/allocator.js";
export { RegionalLimiter, globalOverageBound } from "./global/regional.js";
export { GossipAllocator, type Announcement } from "./global/gossip.js";
export { LeaseSync, type LeaseSource } from "./global/sync.js";
export { proportionalShare, staticShare, entitlements, type ShareAlgorithm } from "./global/shares.js";
export { AimdLimiter, type AimdOptions } from "./adaptive/aimd.js";
export { BurnRateThrottle, SRE_WORKBOOK_WINDOWS, type BurnWindow } from "./adaptive/burn-rate.js";
