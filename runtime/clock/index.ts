/**
 * runtime/clock: hybrid logical clocks, TrueTime, skew monitoring, NTP and the time services. Other
 * folders import this file only. See README.md and docs/time.md.
 */
export { HybridClock, UntrustworthyRemoteWallTimeError, ForwardClockJumpError, type HybridClockOptions } from "./hlc.js";
export { format, parse, TimestampParseError, type Timestamp } from "./timestamp.js";
export { TrueTime, ClockUnsynchronizedError, type TTInterval } from "./truetime.js";
export { SkewMonitor, type SkewEvent, type SkewState } from "./skew.js";
export { ClockNode, type ClockNodeOptions, type ClockStatus, type ReferenceStatus } from "./node.js";
export { TimeMetrics } from "./metrics.js";
export { HTTP_HEADER, GRPC_METADATA_KEY, NATS_HEADER, grpc, http, inject, nats, type Carrier } from "./propagation.js";
export { httpHlc, hlcConsistency, hlcParts, installHlc, clockRoutes, resetRoute, DEFAULT_MAX_UNCERTAINTY_MS, type HttpHlcOptions } from "./http.js";
export { HLC_MAX_OFFSET_ENV, hlcNodeFromEnv, timeFromEnv } from "./env.js";
export { ntpQuery, NtpQueryError, type NtpMeasurement } from "./ntp/client.js";
export { NtpSync } from "./sync.js";
export { ChronySync, chronycTracking, type TrackingReader } from "./chrony-sync.js";
export { referenceSync, timeReferenceSchema, type TimeReference } from "./reference.js";
export { Grandmaster, preciseSystemClock, type GrandmasterOptions } from "./grandmaster.js";
export { clockService, clockConfigSchema } from "./service.js";
export { calibratedRealtimeClock, type CalibratedClock } from "./realtime.js";
export { FileUpperBound, startupWait, ClockBehindUpperBoundError, UPPER_BOUND_FILE } from "./upper-bound.js";
export { grandmasterService, grandmasterConfigSchema } from "./grandmaster-service.js";
export { compare, max } from "./timestamp.js";
export { StalenessPolicy, StalenessPolicyError, stalenessPolicySchema, type ReadConsistency } from "./staleness/policy.js";
export { routeRead, type FollowerReadRequest, type ReadRoute } from "./staleness/follower-route.js";
export { PostgresFollowerReads, closedTimestampStatements, closeTimestamp, readClosedTimestamp, type FollowerRead } from "./staleness/postgres.js";
export { EPOCH_HEADER, HlcEpochError, HlcResetRefusedError, checkEpoch, formatToken, parseEpoch, parseStamped, parseToken, resetDataDir, resetHlc, resetRefusal, type ResetOptions } from "./epoch.js";
export { TIME_HEADER, TIME_UNCERTAINTY_HEADER, TimeInputError, TimeOutOfBoundError, headerInterval, intoHlc, legacyInterval, parseHttpDate, parseRfc3339, physicalInterval, renderHlc, rfc3339Micros, type GatewayBounds, type Interval } from "./gateway.js";
export type { EpochState, ResetRecord } from "./upper-bound.js";
