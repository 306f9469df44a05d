/**
 * HLC propagation across service boundaries (§12.1.3): every outgoing request or message carries the
 * sender's `now()`; every receiver forwards its own HLC to it (rejecting values beyond max offset) so
 * causality survives hops between services, regions and queues.
 *
 * Wire names: HTTP header `x-meridian-hlc`, gRPC metadata key `meridian-hlc`, NATS header `Meridian-HLC`,
 * each carrying `<wall micros>.<logical>`. A malformed or untrustworthy value is refused, never applied.
 */
import { HLC_GRPC_METADATA_KEY, HLC_HTTP_HEADER, HLC_NATS_HEADER } from "../../model/time/hlc-wire.js";
import type { HybridClock } from "./hlc.js";
import { format, parse, type Timestamp } from "./timestamp.js";

export const HTTP_HEADER = HLC_HTTP_HEADER;
export const GRPC_METADATA_KEY = HLC_GRPC_METADATA_KEY;
const NATS_HEADER = HLC_NATS_HEADER;

/** Anything with header-like get/set: grpc-js `Metadata`, nats `MsgHdrs`, a `Headers`, a plain adapter. */
export interface Carrier {
  get(key: string): unknown;
  set(key: string, value: string): unknown;
}

/** Stamp an outgoing carrier with a fresh HLC timestamp; returns the timestamp sent. */
function inject(carrier: Carrier, key: string, hlc: HybridClock): Timestamp {
  const t = hlc.now();
  carrier.set(key, format(t));
  return t;
}

/**
 * Forward the local HLC to the timestamp an incoming carrier holds. Returns it, or null when the carrier
 * has none (an older client). Throws TimestampParseError or UntrustworthyRemoteWallTimeError otherwise.
 */
function extract(carrier: Carrier, key: string, hlc: HybridClock): Timestamp | null {
  const raw = first(carrier.get(key));
  if (raw === null) return null;
  const t = parse(raw);
  hlc.updateAndCheckMaxOffset(t);
  return t;
}

/** grpc-js Metadata.get returns an array; Headers.get a string or null; NATS MsgHdrs.get "" when absent. */
function first(value: unknown): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null || v === "") return null;
  return typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
}

/** Node/fastify incoming headers (lower-cased record) and outgoing header records as a Carrier. */
function headerRecord(headers: Record<string, string | string[] | undefined>): Carrier {
  return {
    get: (key) => headers[key.toLowerCase()],
    set: (key, value) => {
      headers[key.toLowerCase()] = value;
    },
  };
}

export const http = {
  inject: (headers: Record<string, string | string[] | undefined>, hlc: HybridClock) => inject(headerRecord(headers), HTTP_HEADER, hlc),
  extract: (headers: Record<string, string | string[] | undefined>, hlc: HybridClock) => extract(headerRecord(headers), HTTP_HEADER, hlc),
};

export const grpc = {
  inject: (metadata: Carrier, hlc: HybridClock) => inject(metadata, GRPC_METADATA_KEY, hlc),
  extract: (metadata: Carrier, hlc: HybridClock) => extract(metadata, GRPC_METADATA_KEY, hlc),
};

export const nats = {
  inject: (headers: Carrier, hlc: HybridClock) => inject(headers, NATS_HEADER, hlc),
  extract: (headers: Carrier, hlc: HybridClock) => extract(headers, NATS_HEADER, hlc),
};
