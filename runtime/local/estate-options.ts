/** What a local estate is started with, what it records, and where its regions answer. */
import type { EstateSpec } from "../../model/estate.js";
import type { RoutingMode } from "../../model/config/traffic.js";
import type { DnsQueryLogEntry } from "./gslb-answers.js";

export interface LocalEstateOptions {
  spec: EstateSpec;
  /** Run only these regions (ids of the stack, in stack order); default all. */
  regionIds?: string[];
  dnsPort?: number;
  basePort?: number;
  /** Initial clock skew per region id (ms). */
  skews?: Record<string, number>;
  redisUrl?: string;
  postgresUrl?: string;
  /** Progress lines while starting ("starting region local-aws …"). */
  progress?(line: string): void;
  /** Region processes' own output, line by line. */
  regionOutput?(region: string, line: string): void;
  regionStartTimeoutMs?: number;
  /** Route differently from the stack (`meridian local --routing weighted --weights a=200,b=50`). */
  routing?: { mode?: RoutingMode; weights?: Record<string, number> };
  /** Seed for the resolver's weighted draws: the same queries then get the same answers. */
  dnsSeed?: number;
  /** Every answered query, as it is logged (`meridian local --query-log FILE`). */
  queryLog?(entry: DnsQueryLogEntry): void;
  /** Abort a start under way (Ctrl-C while starting): what was started is stopped and start() rejects. */
  signal?: AbortSignal;
}

export interface EstateEvent {
  atMs: number;
  kind: "started" | "health" | "killed" | "restarted" | "crashed" | "skew" | "dns" | "fault" | "ratelimit" | "drain";
  region?: string;
  detail: string;
}

export interface RegionEndpoint {
  id: string;
  /** The public address DNS answers with (the proxy's), and the URL clients and checkers use. */
  address: string;
  port: number;
  url: string;
  /** The region process's own address (control plane: the supervisor's admin calls bypass the network). */
  privateHost: string;
}

/** The stack's spec with the routing mode and weights a run asked for (weights only for the stack's regions). */
export function withRouting(spec: EstateSpec, routing: LocalEstateOptions["routing"]): EstateSpec {
  if (!routing || (routing.mode === undefined && routing.weights === undefined)) return spec;
  const unknown = Object.keys(routing.weights ?? {}).filter((id) => !spec.regions.some((r) => r.id === id));
  if (unknown.length) throw new Error(`weights for unknown region(s) ${unknown.join(", ")}; stack ${spec.stack} has ${spec.regions.map((r) => r.id).join(", ")}`);
  return { ...spec, dns: { ...spec.dns, routing: routing.mode ?? spec.dns.routing, weights: { ...spec.dns.weights, ...routing.weights } } };
}

/** The public loopback address of region number `index` (0-based), and its process's private one. */
export const regionAddress = (index: number): string => `127.0.1.${index + 1}`;
export const regionPrivateAddress = (index: number): string => `127.0.2.${index + 1}`;
