/** The dated price table (FACTS.md as data): egress per cloud and DNS / health-check / load-balancing SKUs. */
export type { Price, Tier } from "./price.js";
export { freeInternetEgressGB, interRegionPrice, internetEgressTiers, type RegionRef } from "./egress.js";
export { skuPrices } from "./dns.js";
