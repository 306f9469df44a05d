/**
 * The local GSLB's answer: which regions the resolver returns, given live health.
 * PROVISIONAL until model/traffic lands: failover order over regions that are not unhealthy.
 */
import type { EstateSpec } from "../../model/estate.js";
import type { HealthState } from "../gslb/health.js";

export function gslbAnswer(spec: EstateSpec, states: Record<string, HealthState>, running: string[]): string[] {
  const order = spec.dns.failoverOrder.length ? spec.dns.failoverOrder : running;
  const up = order.filter((id) => running.includes(id) && states[id] !== "unhealthy");
  return up.slice(0, 1);
}
