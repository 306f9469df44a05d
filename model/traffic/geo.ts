/**
 * Geography for GSLB: great-circle distance (the latency proxy the model and the local resolver use),
 * each provider's code for a continent, and the nearest AWS region for Route 53 latency records of
 * regions that run elsewhere. Pure tables; every provider file reads its codes from here.
 */
import type { Continent } from "../config/vocabulary.js";

export interface LatLon {
  lat: number;
  lon: number;
}

const EARTH_RADIUS_KM = 6371;

/** Haversine distance in km. */
export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Rough population centroid of each continent: where a client "from that continent" is assumed to be. */
export const CONTINENT_CENTROIDS: Record<Continent, LatLon> = {
  "north-america": { lat: 39.8, lon: -89.6 },
  "south-america": { lat: -15.8, lon: -52.0 },
  europe: { lat: 50.1, lon: 8.7 },
  asia: { lat: 28.6, lon: 105.0 },
  oceania: { lat: -33.9, lon: 151.2 },
  africa: { lat: 1.3, lon: 20.0 },
};

/** Route 53 geolocation continent codes. */
export const ROUTE53_CONTINENT: Record<Continent, string> = {
  "north-america": "NA",
  "south-america": "SA",
  europe: "EU",
  asia: "AS",
  oceania: "OC",
  africa: "AF",
};

/** Traffic Manager geographic hierarchy codes (GEO-AP is Australia/Pacific). */
export const TRAFFIC_MANAGER_CONTINENT: Record<Continent, string> = {
  "north-america": "GEO-NA",
  "south-america": "GEO-SA",
  europe: "GEO-EU",
  asia: "GEO-AS",
  oceania: "GEO-AP",
  africa: "GEO-AF",
};

/** Cloudflare load-balancer region codes covering each continent. */
export const CLOUDFLARE_REGIONS: Record<Continent, string[]> = {
  "north-america": ["WNAM", "ENAM"],
  "south-america": ["NSAM", "SSAM"],
  europe: ["WEU", "EEU"],
  asia: ["NEAS", "SEAS", "SAS", "ME"],
  oceania: ["OC"],
  africa: ["NAF", "SAF"],
};

/** The Google Cloud region a Cloud DNS geo item names for clients nearest that continent. */
export const CLOUD_DNS_LOCATION: Record<Continent, string> = {
  "north-america": "us-central1",
  "south-america": "southamerica-east1",
  europe: "europe-west1",
  asia: "asia-northeast1",
  oceania: "australia-southeast1",
  africa: "africa-south1",
};

const AWS_REGIONS: Record<string, LatLon> = {
  "us-east-1": { lat: 38.9, lon: -77.4 },
  "us-east-2": { lat: 40.0, lon: -83.0 },
  "us-west-2": { lat: 45.8, lon: -119.7 },
  "ca-central-1": { lat: 45.5, lon: -73.6 },
  "sa-east-1": { lat: -23.5, lon: -46.6 },
  "eu-west-1": { lat: 53.3, lon: -6.3 },
  "eu-west-2": { lat: 51.5, lon: -0.1 },
  "eu-central-1": { lat: 50.1, lon: 8.7 },
  "eu-north-1": { lat: 59.3, lon: 18.1 },
  "ap-northeast-1": { lat: 35.7, lon: 139.7 },
  "ap-southeast-1": { lat: 1.35, lon: 103.8 },
  "ap-southeast-2": { lat: -33.9, lon: 151.2 },
  "ap-south-1": { lat: 19.1, lon: 72.9 },
  "af-south-1": { lat: -33.9, lon: 18.4 },
  "me-south-1": { lat: 26.1, lon: 50.6 },
};

/** Route 53 latency records name an AWS region: the region itself on AWS, else the nearest one. */
export function route53LatencyRegion(region: { cloud: string; region: string; location: LatLon }): string {
  if (region.cloud === "aws") return region.region;
  let best = "us-east-1";
  let bestKm = Infinity;
  for (const [code, at] of Object.entries(AWS_REGIONS)) {
    const km = distanceKm(region.location, at);
    if (km < bestKm) [best, bestKm] = [code, km];
  }
  return best;
}

const AZURE_REGIONS: Record<string, LatLon> = {
  eastus: { lat: 37.4, lon: -79.4 },
  centralus: { lat: 41.6, lon: -93.6 },
  westus2: { lat: 47.2, lon: -119.9 },
  brazilsouth: { lat: -23.5, lon: -46.6 },
  westeurope: { lat: 52.4, lon: 4.9 },
  northeurope: { lat: 53.3, lon: -6.3 },
  uksouth: { lat: 51.5, lon: -0.1 },
  japaneast: { lat: 35.7, lon: 139.7 },
  southeastasia: { lat: 1.35, lon: 103.8 },
  australiaeast: { lat: -33.9, lon: 151.2 },
  centralindia: { lat: 18.6, lon: 73.9 },
  southafricanorth: { lat: -25.7, lon: 28.2 },
};

/** Traffic Manager Performance routing needs an Azure location per external endpoint: the nearest one. */
export function trafficManagerLocation(region: { cloud: string; region: string; location: LatLon }): string {
  if (region.cloud === "azure") return region.region;
  let best = "westeurope";
  let bestKm = Infinity;
  for (const [code, at] of Object.entries(AZURE_REGIONS)) {
    const km = distanceKm(region.location, at);
    if (km < bestKm) [best, bestKm] = [code, km];
  }
  return best;
}

/** Route 53 health checkers run in these regions only; a check needs at least three. */
const ROUTE53_CHECKERS: Record<Continent, string[]> = {
  "north-america": ["us-east-1", "us-west-2"],
  "south-america": ["sa-east-1"],
  europe: ["eu-west-1"],
  asia: ["ap-northeast-1", "ap-southeast-1"],
  oceania: ["ap-southeast-2"],
  africa: ["eu-west-1"],
};

const uniq = (xs: string[]) => [...new Set(xs)];
const padTo = (xs: string[], n: number, fill: string[]) => uniq([...xs, ...fill]).slice(0, Math.max(n, xs.length));

/**
 * Where each provider's checkers probe from, for the given continents: Route 53 checker regions (at
 * least 3), exactly 3 Cloud DNS source regions, or one Cloudflare region per continent.
 */
export function checkerLocations(provider: "route53" | "clouddns" | "cloudflare", where: readonly Continent[]): string[] {
  switch (provider) {
    case "route53":
      return padTo(uniq(where.flatMap((c) => ROUTE53_CHECKERS[c])), 3, ["us-east-1", "eu-west-1", "ap-southeast-1"]);
    case "clouddns":
      return padTo(uniq(where.map((c) => CLOUD_DNS_LOCATION[c])), 3, ["us-central1", "europe-west1", "asia-northeast1"]).slice(0, 3);
    case "cloudflare":
      return uniq(where.map((c) => CLOUDFLARE_REGIONS[c][0]!));
  }
}
