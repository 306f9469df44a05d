/**
 * HLC propagation configured by the environment, as the workloads deploy services: when
 * MERIDIAN_HLC_MAX_OFFSET_MS is set, a service runs a ClockNode with that max offset and installs the
 * HLC header hooks (runtime/clock/http.ts). Unset: no HLC (a plain local run).
 */
import { systemClock } from "../common/clock.js";
import { ClockNode } from "./node.js";

export const HLC_MAX_OFFSET_ENV = "MERIDIAN_HLC_MAX_OFFSET_MS";

export function hlcNodeFromEnv(env: NodeJS.ProcessEnv = process.env): ClockNode | undefined {
  const raw = env[HLC_MAX_OFFSET_ENV];
  if (raw === undefined || raw === "") return undefined;
  const maxOffsetMs = Number(raw);
  if (!Number.isFinite(maxOffsetMs) || maxOffsetMs <= 0) throw new Error(`${HLC_MAX_OFFSET_ENV}=${raw}: expected a positive number of milliseconds`);
  return new ClockNode({ clock: systemClock, maxOffsetMs });
}
