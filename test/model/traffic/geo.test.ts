import { describe, expect, it } from "vitest";
import { checkerLocations, distanceKm, route53LatencyRegion, trafficManagerLocation } from "../../../model/traffic/geo.js";

describe("traffic geography", () => {
  it("great-circle distance", () => {
    expect(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 0 })).toBe(0);
    // London to New York is about 5,570 km.
    expect(Math.round(distanceKm({ lat: 51.5, lon: -0.1 }, { lat: 40.7, lon: -74.0 }) / 10) * 10).toBe(5570);
  });

  it("maps checker continents to each provider's checker regions, padded to its minimum", () => {
    expect(checkerLocations("route53", ["europe"])).toEqual(["eu-west-1", "us-east-1", "ap-southeast-1"]);
    expect(checkerLocations("route53", ["north-america", "asia"])).toEqual(["us-east-1", "us-west-2", "ap-northeast-1", "ap-southeast-1"]);
    expect(checkerLocations("clouddns", ["oceania"])).toEqual(["australia-southeast1", "us-central1", "europe-west1"]);
    expect(checkerLocations("clouddns", ["north-america", "south-america", "europe", "asia"])).toHaveLength(3);
    expect(checkerLocations("cloudflare", ["africa", "europe", "africa"])).toEqual(["NAF", "WEU"]);
  });

  it("names the nearest AWS region for latency records and the nearest Azure location for Performance routing", () => {
    const at = (lat: number, lon: number) => ({ lat, lon });
    expect(route53LatencyRegion({ cloud: "aws", region: "eu-north-1", location: at(59.3, 18.1) })).toBe("eu-north-1");
    expect(route53LatencyRegion({ cloud: "gcp", region: "asia-southeast1", location: at(1.35, 103.8) })).toBe("ap-southeast-1");
    expect(trafficManagerLocation({ cloud: "azure", region: "japaneast", location: at(35.7, 139.7) })).toBe("japaneast");
    expect(trafficManagerLocation({ cloud: "gcp", region: "southamerica-east1", location: at(-23.5, -46.6) })).toBe("brazilsouth");
  });
});
