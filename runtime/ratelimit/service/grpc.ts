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
import { UntrustworthyRemoteWallTimeError, type ClockNode, GRPC_METADATA_KEY, inject, TimestampParseError, parse } from "../../clock/index.js";
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
 * HLC over gRPC metadata (`meridian-hlc`): forward the node's clock to the caller's timestamp (a malformed
 * one is INVALID_ARGUMENT, one beyond max offset FAILED_PRECONDITION) and send the node's back.
 */
function exchangeHlc(call: grpc.ServerUnaryCall<WireRequest, unknown>, node: ClockNode): grpc.ServiceError | null {
  try {
    const [raw] = call.metadata.get(GRPC_METADATA_KEY);
    if (raw !== undefined && raw !== "") node.receive(parse(raw.toString()));
  } catch (err) {
    const code = err instanceof TimestampParseError ? grpc.status.INVALID_ARGUMENT : err instanceof UntrustworthyRemoteWallTimeError ? grpc.status.FAILED_PRECONDITION : grpc.status.INTERNAL;
    return { code, details: (err as Error).message, name: "HLC", message: (err as Error).message, metadata: new grpc.Metadata() };
  }
  const md = new grpc.Metadata();
  inject(md, GRPC_METADATA_KEY, node.hlc);
  call.sendMetadata(md);
  return null;
}

export interface GrpcOptions {
  hlc?: ClockNode;
  /** Add the IETF RateLimit fields to response_headers_to_add (default true). */
  headers?: boolean;
  credentials?: grpc.ServerCredentials;
}

export async function startGrpc(service: RateLimitService, port: number, host = "0.0.0.0", o: GrpcOptions = {}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 4 * 1024 * 1024 });
  server.addService(loadRlsService().service, {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<WireRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (o.hlc) {
        const refused = exchangeHlc(call, o.hlc);
        if (refused) return callback(refused);
      }
      let req: RlsRequest;
      try {
        req = fromWire(call.request);
      } catch (err) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        return;
      }
      service.shouldRateLimit(req).then(
        (r) => callback(null, toWire(r, o.headers ?? true)),
        (err: Error) => callback({ code: err instanceof BadRequestError ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE, details: err.message }),
      );
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, o.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}
