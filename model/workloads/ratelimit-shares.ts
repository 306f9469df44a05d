/**
 * The estate-wide rate limit split into regional shares, as `meridian local` runs it (each region process its share as
 * envoyproxy/ratelimit YAML). Pure, and apart from ratelimit-config.ts so a region process loads the estate model and
 * YAML alone, not the allocator's network and cost models that file's imports bring (~45 modules).
 * Invariant: the regions' rate-limit shares sum to exactly `runtime.ratelimit.requestsPerSecond`.
 */
import { stringify } from "yaml";
import { regionById, type EstateSpec } from "../estate.js";

/**
 * Split `total` over regions in proportion to their capacity by the largest-remainder method (ties go
 * to the region listed first), so shares are whole requests and sum to `total` exactly.
 */
export function rateLimitShares(spec: Pick<EstateSpec, "regions" | "runtime">): Record<string, number> {
  const total = Math.floor(spec.runtime.ratelimit.requestsPerSecond);
  const capacity = spec.regions.reduce((s, r) => s + r.capacity, 0);
  const exact = spec.regions.map((r, i) => ({ id: r.id, i, q: (total * r.capacity) / capacity }));
  const shares = new Map(exact.map((e) => [e.id, Math.floor(e.q)]));
  let left = total - [...shares.values()].reduce((s, n) => s + n, 0);
  for (const e of [...exact].sort((a, b) => b.q - Math.floor(b.q) - (a.q - Math.floor(a.q)) || a.i - b.i)) {
    if (left-- <= 0) break;
    shares.set(e.id, shares.get(e.id)! + 1);
  }
  return Object.fromEntries(shares);
}

export interface RateLimitRegionConfig {
  domain: string;
  region: string;
  requestsPerSecond: number;
  /** envoyproxy/ratelimit YAML (`domain`, `descriptors`, `rate_limit {unit, requests_per_unit}`). */
  yaml: string;
}

/** The descriptor the gateway sends for estate-wide traffic: `generic_key=<domain>`. */
export const ESTATE_DESCRIPTOR = { key: "generic_key" } as const;

export function rateLimitRegionConfig(spec: EstateSpec, regionId: string): RateLimitRegionConfig {
  regionById(spec, regionId);
  const { domain } = spec.runtime.ratelimit;
  const requestsPerSecond = rateLimitShares(spec)[regionId]!;
  const document = {
    domain,
    descriptors: [{ key: ESTATE_DESCRIPTOR.key, value: domain, rate_limit: { name: `${domain}-${regionId}`, unit: "second", requests_per_unit: requestsPerSecond } }],
  };
  return { domain, region: regionId, requestsPerSecond, yaml: stringify(document) };
}
