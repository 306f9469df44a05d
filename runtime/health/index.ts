/** The regional health aggregator: signal verdicts from the services' own readiness. */
export { verdict, type ProbeResult, type SignalVerdict } from "./core.js";
export { healthConfigSchema, healthService, signalPath, type HealthConfig } from "./service.js";
