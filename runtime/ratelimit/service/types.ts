/**
 * The RLS request and response, transport-free (gRPC and HTTP both map onto these), and the checks a
 * request must pass before anything is looked up: a clear error names the field, and the descriptor
 * cap keeps one request's cost bounded (envoyproxy/ratelimit has none; 16,000 descriptors there hold
 * the event loop for seconds).
 */
import type { Entry, LimitOverride } from "../config/match.js";
import type { Unit } from "../config/schema.js";
import { UNITS } from "../config/schema.js";

export interface RlsDescriptor {
  entries: Entry[];
  limit?: LimitOverride | undefined;
  /** Per-descriptor hits_addend (0 peeks); absent → the request's. */
  hitsAddend?: number | undefined;
}

export interface RlsRequest {
  domain: string;
  descriptors: RlsDescriptor[];
  /** 0 or absent means 1, as in Envoy. */
  hitsAddend?: number | undefined;
}

export type Code = "OK" | "OVER_LIMIT";

export interface CurrentLimit {
  requestsPerUnit: number;
  unit: Unit;
  name: string;
}

export interface DescriptorStatus {
  code: Code;
  currentLimit: CurrentLimit | null;
  limitRemaining: number;
  /** null when no limit applies (no duration on the wire). */
  durationUntilResetMs: number | null;
  /** Each limit that decided (leaf first, then hierarchical ancestors), for the RateLimit headers. */
  policies: PolicyState[];
}

/** One limit as the IETF RateLimit fields describe it, named by config — never by a request value. */
export interface PolicyState {
  name: string;
  quota: number;
  windowMs: number;
  remaining: number;
  resetMs: number;
}

export interface RlsResponse {
  overallCode: Code;
  statuses: DescriptorStatus[];
  /** ms until the tightest rejecting limit could pass (Retry-After); −1 never. */
  retryAfterMs: number;
  /** envoyproxy/ratelimit's response dynamic metadata (when enabled): domain, descriptors, metadata. */
  dynamicMetadata: Record<string, unknown> | null;
}

export class BadRequestError extends Error {
  override name = "BadRequestError";
}

export const MAX_UINT32 = 0xffffffff;

/** Validate a request; throws BadRequestError naming the field. */
export function checkRequest(req: RlsRequest, maxDescriptors: number, maxEntries = 64): void {
  if (!req.domain) throw new BadRequestError("rate limit domain must not be empty");
  if (req.descriptors.length === 0) throw new BadRequestError("rate limit descriptor list must not be empty");
  if (req.descriptors.length > maxDescriptors) throw new BadRequestError(`descriptors has ${req.descriptors.length} entries; at most ${maxDescriptors} are accepted (--max-descriptors)`);
  if (req.hitsAddend !== undefined && (!Number.isInteger(req.hitsAddend) || req.hitsAddend < 0)) throw new BadRequestError(`hits_addend is ${req.hitsAddend}; expected an integer ≥ 0`);
  for (let i = 0; i < req.descriptors.length; i++) {
    const d = req.descriptors[i]!;
    if (d.entries.length === 0) throw new BadRequestError(`descriptors[${i}].entries must not be empty`);
    if (d.entries.length > maxEntries) throw new BadRequestError(`descriptors[${i}].entries has ${d.entries.length} entries; at most ${maxEntries} are accepted`);
    for (let j = 0; j < d.entries.length; j++) if (!d.entries[j]!.key) throw new BadRequestError(`descriptors[${i}].entries[${j}].key must not be empty`);
    if (d.limit) {
      if (!Number.isInteger(d.limit.requestsPerUnit) || d.limit.requestsPerUnit < 0 || d.limit.requestsPerUnit > MAX_UINT32)
        throw new BadRequestError(`descriptors[${i}].limit.requests_per_unit is ${d.limit.requestsPerUnit}; expected an integer 0–${MAX_UINT32}`);
      if (!UNITS.includes(d.limit.unit)) throw new BadRequestError(`descriptors[${i}].limit.unit is ${String(d.limit.unit)}; expected one of ${UNITS.join(", ")}`);
    }
    if (d.hitsAddend !== undefined && (!Number.isSafeInteger(d.hitsAddend) || d.hitsAddend < 0)) throw new BadRequestError(`descriptors[${i}].hits_addend is ${d.hitsAddend}; expected an integer ≥ 0`);
  }
}
