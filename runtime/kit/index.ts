/**
 * runtime/kit: one way to define and serve a runtime service. See README.md.
 */
export { defineService, type HlcHooks, type Listener, type ReadinessCheck, type ServiceContext, type ServiceDefinition, type ServiceParts } from "./define.js";
export { startService, type RunningService, type StartOptions } from "./start.js";
export { runService, type ReadyLine, type RunOptions } from "./run.js";
export { ConfigFileError, mergeConfig, readConfigFile, serverConfigSchema, type JwtConfigInput, type ServerConfig, type ServerConfigInput } from "./config.js";
export { BindError, HttpError, StoreUnreachableError, parseInput } from "./errors.js";
export type { Identity, RouteAuth } from "./auth.js";
export type { Readiness } from "./http.js";
export { type StoreSpec } from "./stores.js";
export { bindUdp, sendSafely } from "./udp.js";
export { ClientRateLimiter, type ClientLimiterOptions, type LimitDecision } from "./client-limiter.js";
export { localOperatorAuth, type LocalOperatorAuth } from "./local-auth.js";
export { CONSISTENCY_HEADER, consistencyTokenOf, installConsistencyTokens, type ConsistencyHooks } from "./consistency.js";
export { installHlcHooks, type DefaultTime, type DefaultTimeParts } from "./hlc.js";
export { parseXfcc, xfccPeer, XfccError, type XfccElement } from "./xfcc.js";
