/**
 * Cross-region east-west traffic: the calls a region's services address to another region's (escrow forwarding an
 * operation to the region that holds the reservation) leave the caller's cluster and enter the peer's through its
 * east-west gateway, so they pay egress like a replication link: the cloud's inter-region rate on one cloud, the
 * source's internet egress between clouds. The volume is the stack's estimate, meridian:runtime.eastWestGBPerMonth
 * (GB each region sends each other region, per service); a single-region stack has no mesh and sends nothing.
 * Pricing is egress.ts's, on the same per-region meters as replication (report.ts prices both at once).
 */
import type { EstateSpec } from "../estate.js";
import type { ServiceName } from "../services.js";
import type { EgressLink } from "./egress.js";

export interface EastWestLink extends EgressLink {
  /** Per-service share, in the setting's order. */
  carries: { service: ServiceName; gb: number }[];
}

/** One link per ordered pair of regions with any east-west volume (the mesh spans every region of the stack). */
export function eastWestLinks(spec: Pick<EstateSpec, "regions" | "runtime">): EastWestLink[] {
  if (spec.regions.length < 2) return [];
  const carries = Object.entries(spec.runtime.eastWestGBPerMonth)
    .filter(([, gb]) => gb > 0)
    .map(([service, gb]) => ({ service: service as ServiceName, gb }));
  if (carries.length === 0) return [];
  const gb = carries.reduce((s, c) => s + c.gb, 0);
  return spec.regions.flatMap((from) => spec.regions.filter((to) => to.id !== from.id).map((to) => ({ from: from.id, to: to.id, gb, carries })));
}
