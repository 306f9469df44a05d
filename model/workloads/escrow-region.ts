/**
 * The escrow service's config file for one region (model/escrow/config.ts: allocation, refill plan, identity keys,
 * caps). Apart from config.ts because the escrow's plan loads the @stdlib distributions (~150 modules): a process that
 * renders only the proof log's, the monitor's or the clock's config (`meridian local`'s proof-log process) skips them.
 */
import { escrowServiceConfig, type EscrowServiceConfig } from "../escrow/config.js";
import type { EstateSpec } from "../estate.js";
import { meshPeerUrls } from "../mesh/multi-primary.js";
import { regionTimeReference } from "./config.js";

/**
 * The file `meridian escrow serve --config` reads in a region's pod: runtime/escrow's config schema,
 * serving that one region. Its peers — the other regions' escrow, for operations on reservations held there — are
 * their region-addressed Services, which the multi-cluster mesh routes to the owning cluster (model/mesh/multi-primary.ts).
 */
export function escrowRegionConfig(spec: EstateSpec, regionId: string, tokenSecretFile?: string): EscrowServiceConfig {
  return escrowServiceConfig(spec, { regions: [regionId], timeAgent: regionTimeReference(spec, regionId).agent, tokenSecretFile, peers: meshPeerUrls(spec, "escrow", regionId) });
}
