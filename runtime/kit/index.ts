/**
 * runtime/kit: one way to define and serve a runtime service. See README.md.
 *
 * startService, runService and localOperatorAuth load their modules (Fastify, prom-client, jose) when first
 * called: every package that defines a service imports this file, and a command that only reads a file or
 * verifies a proof should not load an HTTP server to do it.
 */
import type * as LocalAuth from "./local-auth.js";
import type * as Run from "./run.js";
import type * as Start from "./start.js";

export { defineService, type HlcHooks, type Listener, type ReadinessCheck, type ServiceContext, type ServiceDefinition, type ServiceParts } from "./define.js";
export type { RunningService, StartOptions } from "./start.js";
export const startService = (async (...args: Parameters<typeof Start.startService>) => (await import("./start.js")).startService(...args)) as typeof Start.startService;
export type { ReadyLine, RunOptions } from "./run.js";
export const runService = (async (...args: Parameters<typeof Run.runService>) => (await import("./run.js")).runService(...args)) as typeof Run.runService;
export { ConfigFileError, mergeConfig, readConfigFile, serverConfigSchema, type JwtConfigInput, type ServerConfig, type ServerConfigInput } from "./config.js";
export { BindError, HttpError, StoreUnreachableError, parseInput } from "./errors.js";
export type { Identity, RouteAuth } from "./auth.js";
export type { Readiness } from "./http.js";
export { type StoreSpec } from "./stores.js";
export { bindUdp, sendSafely } from "./udp.js";
export { ClientRateLimiter, type ClientLimiterOptions, type LimitDecision } from "./client-limiter.js";
export type { LocalOperatorAuth } from "./local-auth.js";
export const localOperatorAuth = (async (...args: Parameters<typeof LocalAuth.localOperatorAuth>) =>
  (await import("./local-auth.js")).localOperatorAuth(...args)) as typeof LocalAuth.localOperatorAuth;
export { CONSISTENCY_HEADER, consistencyTokenOf, installConsistencyTokens, type ConsistencyHooks } from "./consistency.js";
export { installHlcHooks, type DefaultTime, type DefaultTimeParts } from "./hlc.js";
export { ACCOUNT_RULE, PRINCIPAL_RULE, wellFormedAccount, wellFormedPrincipal } from "./principal.js";
export { parseXfcc, xfccPeer, XfccError, type XfccElement } from "./xfcc.js";
