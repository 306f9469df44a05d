/**
 * HLC propagation across service boundaries (§12.1.3): every outgoing request or message carries the
 * sender's `now()`; every receiver forwards its own HLC to it (rejecting values beyond max offset) so
 * causality survives hops between services, regions and queues.
 *
 * Wire names: HTTP header `x-meridian-hlc`, gRPC metadata key `meridian-hlc`, NATS header `Meridian-HLC`,
 * each carrying `<wall micros>.<logical>`. A malformed or untrustworthy value is refused, never applied.
 * NATS messages also carry the sender's epoch (`Meridian-HLC-Epoch`, runtime/clock/epoch.ts): a message from
 * an older epoch — sent before a reset, or redelivered after one — is refused before its timestamp is
 * compared with ours, and the subscriber drops it (counted in meridian_hlc_message_refusals_total, logged).
 */
import { HLC_GRPC_METADATA_KEY, HLC_HTTP_HEADER, HLC_NATS_EPOCH_HEADER, HLC_NATS_HEADER } from "../../model/time/hlc-wire.js";
import { checkEpoch, HlcEpochError, MissingHlcEpochError, parseEpoch, requireEpochOf } from "./epoch.js";
import { UntrustworthyRemoteWallTimeError, type HybridClock } from "./hlc.js";
import type { MessageRefusal } from "./metrics.js";
import type { ClockNode } from "./node.js";
import { format, parse, TimestampParseError, type Timestamp } from "./timestamp.js";

export const HTTP_HEADER = HLC_HTTP_HEADER;
export const GRPC_METADATA_KEY = HLC_GRPC_METADATA_KEY;
const NATS_HEADER = HLC_NATS_HEADER;
export const NATS_EPOCH_HEADER = HLC_NATS_EPOCH_HEADER;

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

/** A NATS message whose HLC was refused: the subscriber drops it, unapplied. */
export interface NatsRefusal {
  subject: string;
  reason: MessageRefusal;
  detail: string;
}

const stderrWarn = (r: NatsRefusal) => process.stderr.write(`${JSON.stringify({ level: "warn", msg: "NATS message dropped: its HLC was refused", ...r })}\n`);

function refusalOf(e: unknown): Pick<NatsRefusal, "reason" | "detail"> {
  if (e instanceof MissingHlcEpochError) return { reason: "no-epoch", detail: e.message };
  if (e instanceof HlcEpochError) return { reason: e.kind === "reset" ? "reset" : "unknown-epoch", detail: e.message };
  if (e instanceof TimestampParseError) return { reason: "invalid", detail: e.message };
  if (e instanceof UntrustworthyRemoteWallTimeError) return { reason: "untrustworthy", detail: e.message };
  throw e;
}

/** NATS headers (nats `MsgHdrs`): the sender's HLC and epoch, checked against a ClockNode. */
export const nats = {
  /** Stamp outgoing headers with the node's HLC and epoch; returns the timestamp sent. */
  inject(headers: Carrier, node: ClockNode): Timestamp {
    const t = inject(headers, NATS_HEADER, node.hlc);
    headers.set(NATS_EPOCH_HEADER, String(node.epoch.epoch));
    return t;
  },
  /**
   * Forward the node's HLC to a message's timestamp; null when it carries none. The epoch is checked before
   * anything is applied: throws HlcEpochError (older or unknown epoch), TimestampParseError or
   * UntrustworthyRemoteWallTimeError, the clock unchanged. A timestamp without an epoch (a sender that
   * predates epochs) is applied under the max-offset check alone — or, on a node that requires epochs,
   * refused (MissingHlcEpochError).
   */
  extract(headers: Carrier | undefined, node: ClockNode): Timestamp | null {
    const raw = headers ? first(headers.get(NATS_HEADER)) : null;
    const epochText = headers ? first(headers.get(NATS_EPOCH_HEADER)) : null;
    const epoch = epochText === null ? null : parseEpoch(epochText);
    if (raw === null) {
      if (epoch !== null) checkEpoch(node, epoch, NATS_EPOCH_HEADER);
      return null;
    }
    const t = parse(raw);
    requireEpochOf(node, epoch, `${NATS_HEADER} ${raw.slice(0, 48)}`, NATS_EPOCH_HEADER);
    if (epoch !== null) checkEpoch(node, epoch, `${NATS_HEADER} ${raw.slice(0, 48)}`);
    node.receive(t);
    return t;
  },
  /**
   * A subscriber's check of each message: null to process it, or the refusal — already counted
   * (meridian_hlc_message_refusals_total{transport="nats",reason}) and logged — and the message must be dropped.
   */
  receive(headers: Carrier | undefined, node: ClockNode, subject: string, warn: (r: NatsRefusal) => void = stderrWarn): NatsRefusal | null {
    try {
      nats.extract(headers, node);
      return null;
    } catch (e) {
      const r = { subject, ...refusalOf(e) };
      node.metrics.messageRefused("nats", r.reason);
      warn(r);
      return r;
    }
  },
};
