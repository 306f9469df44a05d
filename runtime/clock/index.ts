/**
 * runtime/clock: hybrid logical clocks, TrueTime, skew monitoring, NTP and the time services. Other
 * folders import this file only (or services.ts, its PostgreSQL side). See README.md and docs/time.md.
 */
export { HybridClock, type HybridClockOptions } from "./hlc.js";
export { format, parse, TimestampParseError, type Timestamp } from "./timestamp.js";
export { ClockUnsynchronizedError, type TTInterval } from "./truetime.js";
export { type SkewEvent, type SkewState } from "./skew.js";
export { ClockNode, type ClockNodeOptions, type ClockStatus, type ReferenceStatus } from "./node.js";
export { TimeMetrics } from "./metrics.js";
export { nats as natsHlc, type Carrier, type NatsRefusal } from "./propagation.js";
export { httpHlc, hlcParts, type HttpHlcOptions } from "./http.js";
export { hlcNodeFromEnv, hlcRequireEpochFromEnv, timeFromEnv } from "./env.js";
export { ntpQuery, type NtpMeasurement } from "./ntp/client.js";
export { ChronySync, type TrackingReader } from "./chrony-sync.js";
export { referenceSync, timeReferenceSchema, type TimeReference } from "./reference.js";
export { Grandmaster, preciseSystemClock, type GrandmasterOptions } from "./grandmaster.js";
export { clockService } from "./service.js";
export { calibratedRealtimeClock, type CalibratedClock } from "./realtime.js";
export { UPPER_BOUND_FILE } from "./upper-bound.js";
export { grandmasterService } from "./grandmaster-service.js";
export { grandmasterRelayService, relayConfigSchema } from "./relay-service.js";
export { timeAgentConfigSchema, timeAgentService } from "./agent.js";
export { compare, max } from "./timestamp.js";
export { StalenessPolicy, StalenessPolicyError, stalenessPolicySchema, type ReadConsistency } from "./staleness/policy.js";
export { type FollowerReadRequest, type ReadRoute } from "./staleness/follower-route.js";
export { formatToken, HlcResetRefusedError, parseToken, resetDataDir, type ResetOptions } from "./epoch.js";
export {
  TimeInputError,
  TimeOutOfBoundError,
  headerInterval,
  intoHlc,
  legacyInterval,
  parseHttpDate,
  parseRfc3339,
  physicalInterval,
  renderHlc,
  rfc3339Micros,
  type GatewayBounds,
  type Interval,
} from "./gateway.js";
export { isoRenderer } from "./iso-render.js";
export type { EpochState, ResetRecord } from "./upper-bound.js";
