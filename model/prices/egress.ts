/**
 * Data-transfer prices per cloud, as FACTS.md records them (USD per GB; GCP publishes per GiB and, like
 * Infracost, Meridian bills its GB quantities at the per-GiB rate). The rules that pick a price live here
 * too because they are part of the price list: AWS bills inter-region transfer by the SOURCE region,
 * GCP and Azure by the (source, destination) pair of continents. Where FACTS gives only a first tier,
 * that rate is applied to all volume and the price says so (an upper bound, never an invented discount).
 */
import type { Cloud, Continent } from "../config/vocabulary.js";
import { price, type Price, type Tier } from "./price.js";

const INFRACOST_AWS = "Infracost golden tests (aws data transfer)";
const INFRACOST_GCP = "Infracost golden tests (google compute egress)";
const GCP_SOURCES = "Infracost sources, GCP network pricing";
const AZURE_THIRD_PARTY = "third-party summary of Azure bandwidth pricing";

export interface RegionRef {
  cloud: Cloud;
  /** The cloud's region code, e.g. `us-east-1`. */
  region: string;
  continent: Continent;
}

/** Internet egress allowance free each month, per cloud account, before any tier. */
export const freeInternetEgressGB: Record<Cloud, { gb: number; source: string; date: string }> = {
  aws: { gb: 100, source: INFRACOST_AWS, date: "2024-09" },
  gcp: { gb: 0, source: "FACTS.md lists no GCP internet egress allowance", date: "2026-11" },
  azure: { gb: 100, source: AZURE_THIRD_PARTY, date: "2025-12" },
};

const awsUsEuInternet: Tier[] = [
  { bandGB: 10_240, label: "first 10TB", price: price(0.09, "GB", INFRACOST_AWS, "2024-09") },
  { bandGB: 40_960, label: "next 40TB", price: price(0.085, "GB", INFRACOST_AWS, "2024-09") },
  { bandGB: 102_400, label: "next 100TB", price: price(0.07, "GB", INFRACOST_AWS, "2024-09") },
  { bandGB: Infinity, label: "over 150TB", price: price(0.05, "GB", INFRACOST_AWS, "2024-09") },
];

const firstTierOnly = (usd: number, region: string): Tier[] => [
  {
    bandGB: Infinity,
    label: "first-tier rate",
    price: price(usd, "GB", INFRACOST_AWS, "2024-09", {
      note: `only the first tier is recorded for ${region}; applied to all volume (upper bound)`,
    }),
  },
];

const awsInternetByRegion: Record<string, Tier[]> = {
  "ap-southeast-1": firstTierOnly(0.12, "ap-southeast-1"),
  "ap-northeast-1": firstTierOnly(0.114, "ap-northeast-1"),
  "sa-east-1": firstTierOnly(0.15, "sa-east-1"),
};

const gcpPremiumInternet: Tier[] = [
  { bandGB: 1_024, label: "0-1TiB", price: price(0.12, "GB", INFRACOST_GCP, "2024-07") },
  { bandGB: 9_216, label: "1-10TiB", price: price(0.11, "GB", INFRACOST_GCP, "2024-07") },
  { bandGB: Infinity, label: "over 10TiB", price: price(0.08, "GB", INFRACOST_GCP, "2024-07") },
];

const azureInternet: Tier[] = [
  {
    bandGB: Infinity,
    label: "first 10TB rate",
    price: price(0.087, "GB", AZURE_THIRD_PARTY, "2025-12", {
      verified: false,
      note: "only the first-10TB rate is recorded; applied to all volume (upper bound)",
    }),
  },
];

/** Internet egress tiers for traffic leaving `src` (also used for every cross-cloud link). */
export function internetEgressTiers(src: RegionRef): Tier[] {
  switch (src.cloud) {
    case "aws":
      if (awsInternetByRegion[src.region]) return awsInternetByRegion[src.region]!;
      if (src.continent === "asia") return awsInternetByRegion["ap-southeast-1"]!;
      if (src.continent === "south-america") return awsInternetByRegion["sa-east-1"]!;
      return awsUsEuInternet;
    case "gcp":
      return gcpPremiumInternet;
    case "azure":
      return azureInternet;
  }
}

/** Price per GB of same-cloud transfer from `src` to `dst` (different regions). */
export function interRegionPrice(src: RegionRef, dst: RegionRef): Price {
  if (src.cloud !== dst.cloud) throw new Error(`inter-region price asked for a cross-cloud link ${src.region} -> ${dst.region}`);
  switch (src.cloud) {
    case "aws":
      return awsInterRegion(src, dst);
    case "gcp":
      return gcpInterRegion(src, dst);
    case "azure":
      return azureInterRegion(src, dst);
  }
}

function awsInterRegion(src: RegionRef, dst: RegionRef): Price {
  const pair = new Set([src.region, dst.region]);
  if (pair.has("us-east-1") && pair.has("us-east-2")) return price(0.01, "GB", INFRACOST_AWS, "2024-09");
  if (src.region === "ap-southeast-1" || src.region === "ap-northeast-1") return price(0.09, "GB", INFRACOST_AWS, "2024-09");
  if (src.region === "sa-east-1") return price(0.138, "GB", INFRACOST_AWS, "2024-09");
  if (src.continent === "north-america" || src.continent === "europe") return price(0.02, "GB", INFRACOST_AWS, "2024-09");
  // Other source regions: FACTS records no figure; use the nearest recorded region group.
  const usd = src.continent === "south-america" ? 0.138 : 0.09;
  return price(usd, "GB", INFRACOST_AWS, "2024-09", { verified: false, note: `no figure for ${src.region}; ${src.continent} default` });
}

function gcpInterRegion(src: RegionRef, dst: RegionRef): Price {
  const unverified = { verified: false, note: "GCP inter-region rates vary by SKU; FACTS marks them unverified" };
  if (src.continent === "oceania" || dst.continent === "oceania") return price(0.15, "GB", GCP_SOURCES, "2024-01", unverified);
  if (src.continent !== dst.continent) return price(0.08, "GB", GCP_SOURCES, "2024-01", unverified);
  if (src.continent === "asia") return price(0.05, "GB", GCP_SOURCES, "2024-01", unverified);
  // Within NA or EU FACTS gives $0.01-0.02; the upper bound keeps the estimate conservative.
  return price(0.02, "GB", GCP_SOURCES, "2024-01", { ...unverified, note: "within NA/EU $0.01-0.02; upper bound" });
}

function azureInterRegion(src: RegionRef, dst: RegionRef): Price {
  const u = { verified: false };
  if (src.continent === dst.continent) {
    const usd = src.continent === "north-america" || src.continent === "europe" ? 0.02 : 0.08;
    return price(usd, "GB", AZURE_THIRD_PARTY, "2025-12", u);
  }
  // Intercontinental $0.05-0.16 by source: NA/EU lowest, Asia $0.08, elsewhere the top of the range.
  const usd = src.continent === "north-america" || src.continent === "europe" ? 0.05 : src.continent === "asia" ? 0.08 : 0.16;
  return price(usd, "GB", AZURE_THIRD_PARTY, "2025-12", u);
}
