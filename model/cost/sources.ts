/**
 * Usage sources: the functions that turn an EstateSpec into the usage (model/usage.ts) the cost report
 * prices. Each area that consumes priced SKUs contributes one; the report never knows areas by name.
 * Replication egress is not here: its links are priced by the egress model (model/cost/egress.ts).
 */
import type { EstateSpec } from "../estate.js";
import { trafficUsage } from "../traffic/usage.js";
import type { UsageItem } from "../usage.js";

export type UsageSource = (spec: EstateSpec) => UsageItem[];

/** The estate's usage sources: DNS zones, queries, health checks, Traffic Manager, Cloudflare load balancing. */
export const usageSources: UsageSource[] = [trafficUsage];
