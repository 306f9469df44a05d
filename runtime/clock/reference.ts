/**
 * Where a service's ClockNode is measured: the region's grandmaster (one NTP exchange per poll), the node's
 * chronyd over its command port (ClockBound-style, chrony-sync.ts; needs chronyc and a reachable cmdport), or —
 * as deployed — the node time agent (agent.ts), which serves chrony's tracking line to the pods on its node.
 * One schema for every service's config key `timeReference`, one factory for the sync — so a skew state or
 * ε bound means the same in every service.
 */
import { z } from "zod";
import type { Clock } from "../common/clock.js";
import { ChronySync, chronycTracking, type TrackingReader } from "./chrony-sync.js";
import type { ClockNode } from "./node.js";
import type { PolledReference } from "./polled.js";
import { NtpSync } from "./sync.js";

/** How long before the agent answered it read the tracking line it serves (ms). */
export const TRACKING_AGE_HEADER = "x-meridian-tracking-age-ms";

export const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, "expected host:port")
  .transform((s) => ({ host: s.slice(0, s.lastIndexOf(":")), port: Number(s.slice(s.lastIndexOf(":") + 1)) }))
  .refine((a) => a.port > 0 && a.port <= 65535, "port must be 1-65535");

export const timeReferenceSchema = z
  .object({
    /** The region's grandmaster NTP service, host:port. */
    grandmaster: hostPort.optional(),
    /** chronyd's command port (`chronyc -h HOST -p PORT`). */
    chrony: hostPort.optional(),
    /** The node time agent's HTTP address (its GET /v1/tracking): chrony's tracking from a pod. */
    agent: hostPort.optional(),
    syncIntervalMs: z.number().int().min(100).max(3_600_000).default(16_000),
  })
  .strict()
  .refine((r) => [r.grandmaster, r.chrony, r.agent].filter((x) => x !== undefined).length === 1, {
    message: "set exactly one of grandmaster, chrony and agent (chrony already follows the grandmaster; the agent reads chrony)",
  });
export type TimeReference = z.output<typeof timeReferenceSchema>;

/** The poller that keeps `node` measured against `ref`; start() it once the service is up, stop() on close. */
export function referenceSync(
  node: ClockNode,
  ref: Partial<Omit<TimeReference, "syncIntervalMs">> & { syncIntervalMs: number },
  clock: Clock,
  onError: (e: Error) => void,
): PolledReference<unknown> | null {
  const { chrony, agent, grandmaster: gm, syncIntervalMs: intervalMs } = ref;
  if (chrony) return new ChronySync(node, { read: chronycTracking(chrony.host, chrony.port), clock, source: `chrony ${chrony.host}:${chrony.port}`, intervalMs, onError });
  if (agent) return new ChronySync(node, { read: agentTracking(agent.host, agent.port), clock, source: `time agent ${agent.host}:${agent.port}`, intervalMs, onError });
  if (gm) return new NtpSync(node, { host: gm.host, port: gm.port, clock, intervalMs, onError });
  return null;
}

/**
 * The node time agent's tracking line (agent.ts GET /v1/tracking) and how old it was when the agent answered
 * (`x-meridian-tracking-age-ms`: the agent serves its last read, up to its interval old); its 503 names chronyc's error.
 */
function agentTracking(host: string, port: number, timeoutMs = 2_000): TrackingReader {
  const url = `http://${host}:${port}/v1/tracking`;
  return async () => {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const err = e as Error;
      throw new Error(`time agent ${url}: ${err.cause instanceof Error ? err.cause.message : err.message}`, { cause: e });
    }
    const body = await res.text();
    if (res.status !== 200) throw new Error(`time agent ${url}: ${res.status} ${body.slice(0, 200)}`);
    // Without its age the line's dispersion cannot be aged to now: refuse it rather than take it as fresh.
    const age = res.headers.get(TRACKING_AGE_HEADER);
    if (age === null || !/^\d+(\.\d+)?$/.test(age)) throw new Error(`time agent ${url}: ${TRACKING_AGE_HEADER} ${JSON.stringify(age?.slice(0, 32) ?? null)} is not a duration in ms`);
    return { line: body, ageMs: Number(age) };
  };
}
