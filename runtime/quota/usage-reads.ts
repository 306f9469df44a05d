/**
 * GET /v1/quota/nodes/:id/usage — a node's usage read from the store: on PostgreSQL served by the hot standby when the
 * request's consistency allows it (follower reads, runtime/clock's PostgresFollowerReads), else by the primary; the
 * embedded store has no standby, so it serves every read as the primary would.
 *
 *   ?consistency=strong                                     the primary
 *   ?consistency=bounded-staleness&max_staleness=500ms      the standby if its watermark is at most 500 ms old
 *   ?consistency=eventual                                   the standby whatever its age (the primary if it is down)
 *   ?as_of=<wall>.<logical>                                 the usage as of that HLC timestamp (exact)
 *   (none)                                                  the config's `reads` policy for `quota.usage`
 *
 * A request may only tighten the policy. A `x-meridian-consistency` token (from a write response) is a
 * floor: the standby serves only once its watermark has reached it (read-your-writes). The answer says
 * who served it, the watermark consulted and why the standby did not serve; its token is advanced to the
 * snapshot read.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import {
  format,
  max,
  parse,
  parseToken,
  StalenessPolicy,
  StalenessPolicyError,
  TimestampParseError,
  type FollowerReadRequest,
  type HybridClock,
  type ReadConsistency,
  type Timestamp,
} from "../clock/index.js";
import { type FollowerRead } from "../clock/services.js";
import type { Clock } from "../common/clock.js";
import { CONSISTENCY_HEADER, consistencyTokenOf, HttpError, parseInput } from "../kit/index.js";

const USAGE_OPERATION = "quota.usage";

const query = z
  .object({
    consistency: z.enum(["strong", "bounded-staleness", "exact", "eventual"]).optional(),
    max_staleness: z
      .string()
      .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "expected a duration such as 500ms, 5s, 2m or 1h")
      .optional(),
    as_of: z.string().optional(),
  })
  .strict();

function timestamp(text: string, what: string): Timestamp {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof TimestampParseError) throw new HttpError(400, "invalid request", `${what}: ${e.message}`);
    throw e;
  }
}

/** A consistency token's timestamp; its epoch was checked by the kit before the handler (runtime/clock hlcConsistency). */
function tokenTimestamp(token: string): Timestamp {
  try {
    return parseToken(token).timestamp;
  } catch (e) {
    if (e instanceof TimestampParseError) throw new HttpError(400, "invalid request", `${CONSISTENCY_HEADER}: ${e.message}`);
    throw e;
  }
}

const durationMs = (text: string) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text)!;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
};

/** The request's consistency from its query string and token, tightened from (never looser than) the policy. */
function usageReadRequest(raw: unknown, token: string | undefined, policy: StalenessPolicy): FollowerReadRequest {
  const q = parseInput(query, raw, "query");
  const asOf = q.as_of === undefined ? undefined : timestamp(q.as_of, "as_of");
  const kind = q.consistency ?? (asOf ? "exact" : undefined);
  if (kind === "exact" && asOf === undefined) throw new HttpError(400, "invalid request", "consistency=exact needs as_of=<wall>.<logical>");
  if (asOf !== undefined && kind !== "exact") throw new HttpError(400, "invalid request", `as_of reads are exact; consistency=${kind} does not take it`);
  if (kind === "bounded-staleness" && q.max_staleness === undefined) throw new HttpError(400, "invalid request", "consistency=bounded-staleness needs max_staleness (e.g. 500ms)");
  if (q.max_staleness !== undefined && kind !== "bounded-staleness") throw new HttpError(400, "invalid request", "max_staleness goes with consistency=bounded-staleness");
  const requested: ReadConsistency | undefined =
    kind === undefined ? undefined : kind === "bounded-staleness" ? { consistency: kind, maxStalenessMs: durationMs(q.max_staleness!) } : { consistency: kind };
  let consistency: ReadConsistency;
  try {
    consistency = policy.resolve(USAGE_OPERATION, requested);
  } catch (e) {
    if (e instanceof StalenessPolicyError) throw new HttpError(400, "invalid request", e.message);
    throw e;
  }
  if (consistency.consistency === "exact" && asOf === undefined) throw new HttpError(400, "invalid request", `the policy makes ${USAGE_OPERATION} an exact read: give as_of=<wall>.<logical>`);
  return { consistency, ...(asOf ? { asOf } : {}), ...(token ? { minTimestamp: tokenTimestamp(token) } : {}) };
}

/** Reads one node's usage where `req` allows (servedBy and fallback say where and why). */
export type UsageRead = (req: FollowerReadRequest, node: string) => Promise<FollowerRead<Record<string, number>>>;

export function usageReadHandler(o: { read: UsageRead; policy: StalenessPolicy; hlc: HybridClock; clock: Clock; exists(node: string): void }) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const node = (req.params as { id: string }).id;
    o.exists(node);
    const r = usageReadRequest(req.query, consistencyTokenOf(req), o.policy);
    if (r.asOf !== undefined && r.asOf.wall > Math.round(o.clock.now() * 1000) + o.hlc.maxOffsetMicros) {
      throw new HttpError(400, "invalid request", `as_of ${format(r.asOf)} is in the future beyond the max offset`);
    }
    const read = await o.read(r, node);
    // The snapshot read: the AS OF timestamp, the standby's watermark, or (the primary) everything so far.
    const seen = r.asOf ?? (read.servedBy === "replica" ? parse(read.watermark!) : o.hlc.now());
    void reply.header(CONSISTENCY_HEADER, format(r.minTimestamp ? max(seen, r.minTimestamp) : seen));
    return {
      node,
      usage: read.value,
      ...(r.asOf ? { asOf: format(r.asOf) } : {}),
      consistency: r.consistency.consistency,
      servedBy: read.servedBy,
      watermark: read.watermark,
      stalenessMs: read.stalenessMs,
      fallback: read.fallback,
    };
  };
}
