/**
 * Envoy RLS v3 over gRPC: `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`, served from
 * Envoy's complete published protos (runtime/ratelimit/proto) so Envoy, Istio and Envoy Gateway can call
 * it. Per-descriptor `hits_addend` (a UInt64Value: absent inherits the request's, 0 peeks), overrides
 * (`limit`) and every unit are honoured; the IETF RateLimit fields travel back in
 * `response_headers_to_add` for Envoy to put on the downstream response. Bad requests answer
 * INVALID_ARGUMENT naming the field; an unreachable store answers UNAVAILABLE, so Envoy's
 * `failure_mode_deny` decides (fail open by default).
 */
import * as grpc from "@grpc/grpc-js";
import type { IncomingHttpHeaders } from "node:http";
import { httpHlc, type ClockNode } from "../../clock/index.js";
import { HttpError } from "../../kit/index.js";
import type { GrpcAuthorizer } from "./grpc-auth.js";
import type { Unit } from "../config/schema.js";
import { rateLimitHeaders } from "./headers.js";
import { loadRlsService } from "./proto.js";
import type { RateLimitService } from "./rls.js";
import { BadRequestError, type RlsRequest, type RlsResponse } from "./types.js";
import { toStruct } from "./struct.js";

interface WireRequest {
  domain: string;
  descriptors: { entries: { key: string; value: string }[]; limit: { requests_per_unit: number; unit: string } | null; hits_addend: { value: number } | null }[];
  hits_addend: number;
}

// envoy.type.v3.RateLimitUnit (the override's unit type).
const OVERRIDE_UNITS: Record<string, Unit> = { SECOND: "second", MINUTE: "minute", HOUR: "hour", DAY: "day", MONTH: "month", YEAR: "year" };

function fromWire(w: WireRequest): RlsRequest {
  return {
    domain: w.domain,
    hitsAddend: w.hits_addend,
    descriptors: w.descriptors.map((d, i) => {
      let limit;
      if (d.limit) {
        const unit = OVERRIDE_UNITS[d.limit.unit];
        if (!unit) throw new BadRequestError(`descriptors[${i}].limit.unit is ${d.limit.unit}; expected one of ${Object.keys(OVERRIDE_UNITS).join(", ")}`);
        limit = { requestsPerUnit: d.limit.requests_per_unit, unit };
      }
      return { entries: d.entries.map((e) => ({ key: e.key, value: e.value })), limit, hitsAddend: d.hits_addend ? Number(d.hits_addend.value) : undefined };
    }),
  };
}

function duration(ms: number): { seconds: number; nanos: number } {
  const clamped = Math.max(0, ms);
  const seconds = Math.floor(clamped / 1000);
  return { seconds, nanos: Math.round((clamped - seconds * 1000) * 1e6) };
}

export function toWire(r: RlsResponse, headers = true): Record<string, unknown> {
  return {
    // Envoy adds these to the downstream response: clients see the IETF RateLimit fields.
    response_headers_to_add: headers ? Object.entries(rateLimitHeaders(r)).map(([key, value]) => ({ key, value })) : [],
    overall_code: r.overallCode,
    statuses: r.statuses.map((s) => ({
      code: s.code,
      current_limit: s.currentLimit ? { name: s.currentLimit.name, requests_per_unit: s.currentLimit.requestsPerUnit, unit: s.currentLimit.unit.toUpperCase() } : null,
      limit_remaining: s.limitRemaining,
      duration_until_reset: s.durationUntilResetMs === null ? null : duration(s.durationUntilResetMs),
    })),
    dynamic_metadata: r.dynamicMetadata ? toStruct(r.dynamicMetadata) : null,
  };
}

/**
 * HLC over gRPC metadata, by the same rules as HTTP (runtime/clock's `httpHlc`, which these hooks are): the keys
 * are the HTTP headers without `x-` — `meridian-hlc` (`<wall>.<logical>`, or `…@<epoch>`), `meridian-hlc-epoch`,
 * `meridian-time` (+ `meridian-time-uncertainty-ms`). A malformed value is INVALID_ARGUMENT; one beyond max offset,
 * outside the gateway's bound or from another HLC epoch (an older one: `hlc reset`) is FAILED_PRECONDITION, and
 * none is applied. Every answer, refusals included, carries the node's HLC, its epoch and its time as initial
 * metadata — so a client refused for an old epoch learns the new one.
 */
function grpcHlc(node: ClockNode) {
  const hooks = httpHlc(node);
  const toHeader = (key: string) => `x-${key}`;
  const fromHeader = (name: string) => name.replace(/^x-/, "");
  return {
    /** Take in the call's time metadata; a refusal as a gRPC error, else null. */
    receive(md: grpc.Metadata): grpc.ServiceError | null {
      const headers: IncomingHttpHeaders = {};
      for (const [key, value] of Object.entries(md.getMap())) if (key.startsWith("meridian-") && typeof value === "string") headers[toHeader(key)] = value;
      try {
        hooks.inbound!(headers);
        return null;
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        const details = `${e.error}: ${e.detail.replace(/\bx-(meridian-[a-z-]+)/g, "$1")}`;
        const code = e.status === 400 ? grpc.status.INVALID_ARGUMENT : grpc.status.FAILED_PRECONDITION;
        return { code, details, name: "HLC", message: details, metadata: new grpc.Metadata() };
      }
    },
    /** The node's HLC, epoch and time, from one reading. */
    stamp(): grpc.Metadata {
      const md = new grpc.Metadata();
      for (const [name, value] of Object.entries(hooks.stampHeaders!())) md.set(fromHeader(name), value);
      return md;
    },
  };
}

export interface GrpcOptions {
  hlc?: ClockNode;
  /** Add the IETF RateLimit fields to response_headers_to_add (default true). */
  headers?: boolean;
  credentials?: grpc.ServerCredentials;
  /** Who may call (grpc-auth.ts); default: anyone, as Envoy's RLS. Checked before the HLC is taken in. */
  authorize?: GrpcAuthorizer;
}

export async function startGrpc(service: RateLimitService, port: number, host = "0.0.0.0", o: GrpcOptions = {}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  const hlc = o.hlc ? grpcHlc(o.hlc) : undefined;
  server.addService(loadRlsService().service, {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<WireRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      // An unauthorized caller neither moves our clock nor learns it.
      const denied = o.authorize?.(call);
      if (denied) return callback(denied);
      if (hlc) {
        const refused = hlc.receive(call.metadata);
        call.sendMetadata(hlc.stamp());
        if (refused) return callback(refused);
      }
      let req: RlsRequest;
      try {
        req = fromWire(call.request);
      } catch (err) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        return;
      }
      const answer = (r: RlsResponse) => callback(null, toWire(r, o.headers ?? true));
      const fail = (err: Error) => callback({ code: err instanceof BadRequestError ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE, details: err.message });
      // An in-memory store answers in this turn: no promise between the call and its reply.
      let decided: RlsResponse | Promise<RlsResponse>;
      try {
        decided = service.decide(req);
      } catch (err) {
        return fail(err as Error);
      }
      if (decided instanceof Promise) decided.then(answer, fail);
      else answer(decided);
    },
  });
  quietBindFailures();
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, o.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(withErrno(err)) : resolve(p))),
  );
  return { server, port: bound };
}

/**
 * grpc-js reports a failed bind twice: its own log line ("E No address added …") and the rejection. The
 * rejection becomes the kit's one-line BindError, so that log line is dropped (every other grpc-js log line
 * passes through as grpc-js prints it).
 */
function quietBindFailures(): void {
  grpc.setLogger({
    error: (message: unknown, ...rest: unknown[]) => {
      if (!/^No address added out of total/.test(String(message))) console.error(`E ${String(message)}`, ...rest);
    },
    info: (message: unknown, ...rest: unknown[]) => console.error(`I ${String(message)}`, ...rest),
    debug: (message: unknown, ...rest: unknown[]) => console.error(`D ${String(message)}`, ...rest),
  });
}

/** grpc-js's bind error carries the system's errno only in its text ("listen EADDRINUSE: …"): lift it to `code`. */
function withErrno(err: Error): Error {
  const code = /\blisten (E[A-Z]+)\b/.exec(err.message)?.[1];
  return code ? Object.assign(err, { code }) : err;
}
