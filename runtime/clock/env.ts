/**
 * HLC propagation configured by the environment, as the workloads deploy services: when
 * MERIDIAN_HLC_MAX_OFFSET_MS is set, a service runs a ClockNode with that max offset and installs the
 * HLC header hooks (runtime/clock/http.ts). Unset: no HLC (a plain local run).
 */
import { systemClock } from "../common/clock.js";
import type { DefaultTime } from "../kit/index.js";
import { hlcParts } from "./http.js";
import { TimeMetrics } from "./metrics.js";
import { ClockNode } from "./node.js";

const HLC_MAX_OFFSET_ENV = "MERIDIAN_HLC_MAX_OFFSET_MS";
const HLC_REQUIRE_EPOCH_ENV = "MERIDIAN_HLC_REQUIRE_EPOCH";

/**
 * MERIDIAN_HLC_REQUIRE_EPOCH=true (rendered from the stack's meridian:time.gateway.requireEpoch): HLC
 * timestamps that name no epoch are refused rather than applied. Unset or false: accepted (compatibility).
 */
export function hlcRequireEpochFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[HLC_REQUIRE_EPOCH_ENV];
  if (raw === undefined || raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  throw new Error(`${HLC_REQUIRE_EPOCH_ENV}=${raw}: expected true or false`);
}

/** The max offset MERIDIAN_HLC_MAX_OFFSET_MS gives (undefined when unset); throws naming a bad value. */
export function hlcMaxOffsetFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[HLC_MAX_OFFSET_ENV];
  if (raw === undefined || raw === "") return undefined;
  const maxOffsetMs = Number(raw);
  if (!Number.isFinite(maxOffsetMs) || maxOffsetMs <= 0) throw new Error(`${HLC_MAX_OFFSET_ENV}=${raw}: expected a positive number of milliseconds`);
  return maxOffsetMs;
}

export function hlcNodeFromEnv(env: NodeJS.ProcessEnv = process.env): ClockNode | undefined {
  const maxOffsetMs = hlcMaxOffsetFromEnv(env);
  return maxOffsetMs === undefined ? undefined : new ClockNode({ clock: systemClock, maxOffsetMs, requireEpoch: hlcRequireEpochFromEnv(env) });
}

/**
 * The kit's default time handling for a service that brings none (runtime/kit/hlc.ts `setDefaultTime`):
 * with MERIDIAN_HLC_MAX_OFFSET_MS set — as every deployed pod's environment has it — a ClockNode on the
 * service's clock, its metrics on the service's /metrics, and `hlcParts(node)`: x-meridian-hlc in and out,
 * the epoch, x-meridian-time, epoch-checked consistency tokens. Unset: none.
 */
export function timeFromEnv(env: NodeJS.ProcessEnv = process.env): DefaultTime {
  return ({ clock, metrics }) => {
    const probe = hlcNodeFromEnv(env); // validates the variable, or undefined when unset
    if (probe === undefined) return undefined;
    return hlcParts(new ClockNode({ clock, maxOffsetMs: probe.hlc.maxOffsetMicros / 1000, requireEpoch: probe.requireEpoch, metrics: new TimeMetrics(metrics) }));
  };
}
