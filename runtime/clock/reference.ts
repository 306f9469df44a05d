/**
 * Where a service's ClockNode is measured: the region's grandmaster (one NTP exchange per poll) or the
 * node's chronyd (ClockBound-style, chrony-sync.ts). One schema for every service's config key
 * `timeReference`, one factory for the sync — so a skew state or ε bound means the same in every service.
 */
import { z } from "zod";
import type { Clock } from "../common/clock.js";
import { ChronySync, chronycTracking } from "./chrony-sync.js";
import type { ClockNode } from "./node.js";
import type { PolledReference } from "./polled.js";
import { NtpSync } from "./sync.js";

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
    syncIntervalMs: z.number().int().min(100).max(3_600_000).default(16_000),
  })
  .strict()
  .refine((r) => (r.grandmaster === undefined) !== (r.chrony === undefined), { message: "set exactly one of grandmaster and chrony (chrony already follows the grandmaster)" });
export type TimeReference = z.output<typeof timeReferenceSchema>;

/** The poller that keeps `node` measured against `ref`; start() it once the service is up, stop() on close. */
export function referenceSync(
  node: ClockNode,
  ref: Partial<Omit<TimeReference, "syncIntervalMs">> & { syncIntervalMs: number },
  clock: Clock,
  onError: (e: Error) => void,
): PolledReference<unknown> | null {
  const { chrony, grandmaster: gm, syncIntervalMs: intervalMs } = ref;
  if (chrony) return new ChronySync(node, { read: chronycTracking(chrony.host, chrony.port), clock, source: `chrony ${chrony.host}:${chrony.port}`, intervalMs, onError });
  if (gm) return new NtpSync(node, { host: gm.host, port: gm.port, clock, intervalMs, onError });
  return null;
}
