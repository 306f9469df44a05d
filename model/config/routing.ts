/**
 * The GSLB's routing modes. A leaf with no schema library: `meridian local --help` names them without
 * loading the stack config schema (config/traffic.ts validates `dns.routing` against this list).
 */
export const routingModes = ["weighted", "geo", "latency", "failover", "anycast"] as const;
export type RoutingMode = (typeof routingModes)[number];
