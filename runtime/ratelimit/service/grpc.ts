/**
 * Envoy RLS v3 over gRPC: `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`, served from
 * the published proto so Envoy and Istio can call it. The IETF RateLimit / RateLimit-Policy fields
 * travel back in `response_headers_to_add`, so Envoy puts them on the downstream response. Bad requests answer INVALID_ARGUMENT naming the
 * field; store failures answer UNAVAILABLE (Envoy then applies its `failure_mode_deny`).
 */
import * as grpc from "@grpc/grpc-js";
import { UntrustworthyRemoteWallTimeError } from "../../clock/hlc.js";
import type { ClockNode } from "../../clock/node.js";
import { GRPC_METADATA_KEY, inject } from "../../clock/propagation.js";
import { TimestampParseError, parse } from "../../clock/timestamp.js";
import type { Unit } from "../config/schema.js";
import { rateLimitHeaders } from "./http.js";
import { loadRlsService } from "./proto.js";
import { BadRequestError, type RateLimitService, type RlsRequest, type RlsResponse } from "./rls.js";

interface WireRequest {
  domain: string;
  descriptors: { entries: { key: string; value: string }[]; limit: { requests_per_unit: number; unit: string } | null }[];
  hits_addend: number;
}

const OVERRIDE_UNITS: Record<string, Unit> = { SECOND: "second", MINUTE: "minute", HOUR: "hour", DAY: "day" };

export function fromWire(w: WireRequest): RlsRequest {
  return {
    domain: w.domain,
    hitsAddend: w.hits_addend,
    descriptors: w.descriptors.map((d, i) => {
      let limit;
      if (d.limit) {
        const unit = OVERRIDE_UNITS[d.limit.unit];
        if (!unit) throw new BadRequestError(`descriptors[${i}].limit.unit is ${d.limit.unit}; expected SECOND, MINUTE, HOUR or DAY`);
        limit = { requestsPerUnit: d.limit.requests_per_unit, unit };
      }
      return { entries: d.entries.map((e) => ({ key: e.key, value: e.value })), limit };
    }),
  };
}

export function toWire(r: RlsResponse): Record<string, unknown> {
  return {
    // Envoy adds these to the downstream response: clients see the IETF RateLimit fields.
    response_headers_to_add: Object.entries(rateLimitHeaders(r)).map(([key, value]) => ({ key, value })),
    overall_code: r.overallCode,
    statuses: r.statuses.map((s) => ({
      code: s.code,
      current_limit: s.currentLimit ? { name: s.currentLimit.name ?? "", requests_per_unit: s.currentLimit.requestsPerUnit, unit: s.currentLimit.unit.toUpperCase() } : null,
      limit_remaining: Math.max(0, Math.min(2 ** 32 - 1, Math.floor(s.limitRemaining))),
      duration_until_reset: duration(s.durationUntilResetMs),
    })),
  };
}

function duration(ms: number): { seconds: number; nanos: number } {
  const clamped = Math.max(0, ms);
  const seconds = Math.floor(clamped / 1000);
  return { seconds, nanos: Math.round((clamped - seconds * 1000) * 1e6) };
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

export async function startGrpc(service: RateLimitService, port: number, host = "0.0.0.0", hlc?: ClockNode): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(loadRlsService().service, {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<WireRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (hlc) {
        const refused = exchangeHlc(call, hlc);
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
        (r) => callback(null, toWire(r)),
        (err: Error) => callback({ code: err instanceof BadRequestError ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE, details: err.message }),
      );
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port: bound };
}
