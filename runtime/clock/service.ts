/**
 * The region clock service (`meridian time serve`), defined with the service kit: a ClockNode (HLC,
 * TrueTime, skew state machine) on the given clock, measured against the region's grandmaster over NTP
 * when one is named, with the HLC header hooks and GET /v1/time, /v1/time/skew. Ready while the
 * strong-consistency path is open: a frozen or recovering clock takes the pod out of the Service.
 *
 * Config (the ConfigMap's clock.json, model/workloads clockRegionConfig): region, maxOffsetMs, the
 * skew thresholds and the region's `grandmaster` (host:port); flags of the same names override it.
 */
import { z } from "zod";
import { defineService } from "../kit/index.js";
import { clockRoutes, httpHlc } from "./http.js";
import { TimeMetrics } from "./metrics.js";
import { ClockNode } from "./node.js";
import { NtpSync } from "./sync.js";

const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, "expected host:port")
  .transform((s) => ({ host: s.slice(0, s.lastIndexOf(":")), port: Number(s.slice(s.lastIndexOf(":") + 1)) }))
  .refine((a) => a.port > 0 && a.port <= 65535, "port must be 1-65535");

export const clockConfigSchema = z
  .object({
    region: z.string().regex(/^[a-z][a-z0-9-]*$/, "expected a region id (lower-case slug)"),
    maxOffsetMs: z.number().positive().max(60_000),
    degradeFraction: z.number().gt(0).lt(1).optional(),
    freezeFraction: z.number().gt(0).max(1).optional(),
    recoveryHoldSeconds: z.number().nonnegative().optional(),
    driftPpm: z.number().nonnegative().max(1000).optional(),
    /** The region's leap-second policy: accepted so the rendered ConfigMap validates; chrony applies it, not this service. */
    leapSmear: z.boolean().optional(),
    grandmaster: hostPort.optional(),
    syncIntervalMs: z.number().int().min(100).max(3_600_000).default(16_000),
  })
  .strict()
  .refine((c) => (c.degradeFraction ?? 0.5) < (c.freezeFraction ?? 0.8), { message: "degradeFraction must be below freezeFraction", path: ["degradeFraction"] });

export const clockService = defineService({
  name: "clock",
  config: clockConfigSchema,
  start({ config, clock, metrics }) {
    const node = new ClockNode({
      clock,
      maxOffsetMs: config.maxOffsetMs,
      driftPpm: config.driftPpm,
      metrics: new TimeMetrics(metrics),
      skew: {
        degradeFraction: config.degradeFraction,
        freezeFraction: config.freezeFraction,
        recoveryHoldMs: config.recoveryHoldSeconds === undefined ? undefined : config.recoveryHoldSeconds * 1000,
      },
    });
    const gm = config.grandmaster;
    const sync = gm ? new NtpSync(node, { host: gm.host, port: gm.port, clock, intervalMs: config.syncIntervalMs }) : null;
    return {
      node,
      routes: (app) => clockRoutes(app, node),
      hlc: httpHlc(node),
      ready: { clock: () => node.skew.allowsStrong() || `skew state ${node.skew.state}: the strong-consistency path is closed` },
      started: () => sync?.start(),
      close: async () => sync?.stop(),
    };
  },
});
