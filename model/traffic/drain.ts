/**
 * Controlled failover (Route 53 ARC-style routing controls): an operator drains a region and every
 * provider stops answering with it, whatever its health; restoring it hands it back to health checks.
 * The drained set lives in the stack's `meridian:dns.drained` (so `pulumi up` applies it) and in the
 * running `meridian local` estate. Safety rules: only the stack's regions, and never the last
 * undrained one — a drain that would leave no region to answer is refused.
 */
import type { HealthState } from "./health.js";

export class DrainRefused extends Error {}

/**
 * The drained set after draining `region` from `regionIds` (stack order kept), or DrainRefused. With live
 * `health` (a running estate), the regions left must include one that is serving, not merely undrained.
 */
export function drain(regionIds: readonly string[], drained: readonly string[], region: string, health?: Readonly<Record<string, HealthState>>): string[] {
  if (!regionIds.includes(region)) throw new DrainRefused(`unknown region ${region}; expected one of ${regionIds.join(", ")}`);
  const next = new Set([...drained, region]);
  const left = regionIds.filter((id) => !next.has(id));
  if (left.length === 0) throw new DrainRefused(`refusing to drain ${region}: it is the last undrained region (drained: ${[...drained].join(", ") || "none"}); restore another region first`);
  if (health !== undefined && left.every((id) => health[id] === "unhealthy")) {
    throw new DrainRefused(`refusing to drain ${region}: it is the last healthy region (${left.join(", ")} ${left.length === 1 ? "is" : "are"} unhealthy); restore or repair another region first`);
  }
  return regionIds.filter((id) => next.has(id));
}

/** The drained set after restoring `region`, or DrainRefused for a region the stack does not have. */
export function restore(regionIds: readonly string[], drained: readonly string[], region: string): string[] {
  if (!regionIds.includes(region)) throw new DrainRefused(`unknown region ${region}; expected one of ${regionIds.join(", ")}`);
  return drained.filter((id) => id !== region);
}
