import { describe, expect, it } from "vitest";
import { compareTopologies, priceEgress, topologyCost, type EgressRegion } from "../../../model/cost/egress.js";
import type { TopologyInput } from "../../../model/cost/topology.js";

const r = (id: string, cloud: EgressRegion["cloud"], region: string, continent: EgressRegion["continent"]): EgressRegion => ({ id, cloud, region, continent });
const dollars = (cents: number) => cents / 100;

// Six regions on three continents; writers produce 4 + 3.5 + 2.5 = 10 TB/month (outline §14.3.1).
const volumes = (na: string, eu: string, asia: string) => ({ [na]: 4000, [eu]: 3500, [asia]: 2500 });

describe("egress cost of replication topologies", () => {
  describe("GCP only (billed by continent pair)", () => {
    const input: TopologyInput & { regions: EgressRegion[] } = {
      regions: [
        r("usc1", "gcp", "us-central1", "north-america"),
        r("use1", "gcp", "us-east1", "north-america"),
        r("euw1", "gcp", "europe-west1", "europe"),
        r("euw4", "gcp", "europe-west4", "europe"),
        r("asne1", "gcp", "asia-northeast1", "asia"),
        r("asse1", "gcp", "asia-southeast1", "asia"),
      ],
      writers: ["usc1", "euw1", "asne1"],
      writeGBPerMonth: volumes("usc1", "euw1", "asne1"),
    };
    it("full mesh: each writer to 1 same-continent + 4 intercontinental regions = $3,475.00", () => {
      // NA 4000: 4000×0.02 + 4×4000×0.08 = 80 + 1280 = 1360
      // EU 3500: 3500×0.02 + 4×3500×0.08 = 70 + 1120 = 1190
      // Asia 2500: 2500×0.05 + 4×2500×0.08 = 125 + 800 = 925      → 3475.00
      expect(dollars(topologyCost(input, "full-mesh").monthlyCents)).toBe(3475);
    });
    it("star through us-central1 = $3,400.00", () => {
      // hub's own: 1360. EU: →hub 280, hub→use1 70, hub→euw4 280, hub→2 Asia 560 = 1190.
      // Asia: →hub 200, hub→use1 50, hub→2 EU 400, hub→asse1 200 = 850.  1360+1190+850 = 3400.00
      expect(dollars(topologyCost(input, "star").monthlyCents)).toBe(3400);
    });
    it("regional (data stays on its continent) = $275.00", () => {
      // 4000×0.02 + 3500×0.02 + 2500×0.05 = 80 + 70 + 125
      expect(dollars(topologyCost(input, "regional").monthlyCents)).toBe(275);
    });
    it("hierarchical: one crossing per continent, relays fan out = $2,500.00 (28% below full mesh)", () => {
      // NA: peer 80 + 2 relays 2×320 + EU relay→euw4 80 + Asia relay→asse1 4000×0.05=200 = 1000
      // EU: 70 + 2×280 + NA relay→use1 70 + Asia relay 175 = 875
      // Asia: 125 + 2×200 + 50 + 50 = 625                          → 2500.00
      const cost = topologyCost(input, "hierarchical");
      expect(dollars(cost.monthlyCents)).toBe(2500);
      expect(cost.links.find((l) => l.from === "asne1" && l.to === "asse1")?.gb).toBe(10000);
    });
    it("compareTopologies orders cheapest first", () => {
      expect(compareTopologies(input).map((t) => t.topology)).toEqual(["regional", "hierarchical", "star", "full-mesh"]);
    });
  });

  describe("AWS only (billed by source region)", () => {
    const input = {
      regions: [
        r("use1", "aws", "us-east-1", "north-america"),
        r("usw2", "aws", "us-west-2", "north-america"),
        r("euw1", "aws", "eu-west-1", "europe"),
        r("euc1", "aws", "eu-central-1", "europe"),
        r("apne1", "aws", "ap-northeast-1", "asia"),
        r("apse1", "aws", "ap-southeast-1", "asia"),
      ],
      writers: ["use1", "euw1", "apne1"],
      writeGBPerMonth: volumes("use1", "euw1", "apne1"),
    };
    it("full mesh = $1,875.00: the source rate applies whatever the destination", () => {
      // 4000×5×0.02 + 3500×5×0.02 + 2500×5×0.09 = 400 + 350 + 1125
      expect(dollars(topologyCost(input, "full-mesh").monthlyCents)).toBe(1875);
    });
    it("star through us-east-1 = $1,175.00", () => {
      // 400 + (70 + 4×3500×0.02=280) + (2500×0.09=225 + 4×2500×0.02=200)
      expect(dollars(topologyCost(input, "star").monthlyCents)).toBe(1175);
    });
    it("hierarchical = $2,050.00: an Asian relay re-sends everything at $0.09", () => {
      // use1: 80+80+80 + euw1→euc1 80 + apne1→apse1 360 = 680
      // euw1: 70+70+70 + use1→usw2 70 + apne1→apse1 315 = 595
      // apne1: 225×3 + use1→usw2 50 + euw1→euc1 50 = 775           → 2050.00
      expect(dollars(topologyCost(input, "hierarchical").monthlyCents)).toBe(2050);
    });
    it("us-east-1 ↔ us-east-2 is $0.01", () => {
      const { links } = priceEgress([{ from: "a", to: "b", gb: 1234, carries: [] }], [r("a", "aws", "us-east-2", "north-america"), r("b", "aws", "us-east-1", "north-america")]);
      expect(links[0]!.monthlyCents).toBe(1234);
    });
  });

  describe("cross-cloud links pay tiered internet egress after the free allowance", () => {
    const regions = [r("aws", "aws", "us-east-1", "north-america"), r("gcp", "gcp", "us-central1", "north-america"), r("az", "azure", "eastus", "north-america")];
    const one = (from: string, to: string, gb: number) => priceEgress([{ from, to, gb, carries: [] }], regions);
    it("AWS 15,000 GB to GCP: 100 free, 10,240 × 0.09, 4,660 × 0.085 = $1,317.70", () => {
      // list: 15,000 × 0.09 = 1,350.00; allowance −100 × 0.09 = −9.00; tier 2: 4,660 × (0.085 − 0.09) = −23.30
      // = 921.60 + 396.10 = 1,317.70
      const egress = one("aws", "gcp", 15000);
      expect(egress.links[0]!.monthlyCents).toBe(135000);
      expect(egress.adjustments[0]!.components.map((c) => [c.monthlyQuantity, c.price.usd, c.monthlyCents])).toEqual([
        [100, -0.09, -900],
        [4660, -0.005, -2330],
      ]);
      expect(dollars(egress.monthlyCents)).toBe(1317.7);
    });
    it("two links from one region share its meter; each link's cost is its own volume at list price", () => {
      // aws→az 6,000 and aws→gcp 6,000: list 540.00 each; meter 12,000: −100 × 0.09 = −9.00,
      // then 11,900 billable: 1,660 in tier 2 × −0.005 = −8.30.  Total 1,080.00 − 17.30 = 1,062.70
      // (= 10,240 × 0.09 + 1,660 × 0.085 = 921.60 + 141.10)
      const egress = priceEgress(
        [
          { from: "aws", to: "gcp", gb: 6000, carries: [] },
          { from: "aws", to: "az", gb: 6000, carries: [] },
        ],
        regions,
      );
      expect(egress.links.map((l) => dollars(l.monthlyCents))).toEqual([540, 540]);
      expect(dollars(egress.monthlyCents)).toBe(1062.7);
    });
    it("the free allowance is spent once per cloud account", () => {
      const egress = priceEgress(
        [
          { from: "aws", to: "gcp", gb: 60, carries: [] },
          { from: "aws2", to: "gcp", gb: 60, carries: [] },
        ],
        [...regions, r("aws2", "aws", "us-west-2", "north-america")],
      );
      // 120 GB list = 10.80; 100 GB free = −9.00 → 1.80 (20 GB × 0.09)
      expect(dollars(egress.monthlyCents)).toBe(1.8);
    });
    it("GCP tiers: 12,000 GB = 1,024×0.12 + 9,216×0.11 + 1,760×0.08 = $1,277.44", () => {
      // 122.88 + 1013.76 + 140.80 = 1277.44 (list 1,440.00 − 9,216 × 0.01 − 1,760 × 0.04 = 1,440 − 92.16 − 70.40)
      expect(dollars(one("gcp", "aws", 12000).monthlyCents)).toBe(1277.44);
    });
    it("Azure: 100 GB free, then $0.087", () => {
      expect(dollars(one("az", "aws", 1100).monthlyCents)).toBe(87);
    });
  });

  describe("prod: 6 regions, 3 clouds, 3 continents, 10 TB/month (docs/cost.md)", () => {
    // NA: aws-use1 (writes 4,000), gcp-usc1; EU: aws-euw1 (3,500), azure-weu; Asia: gcp-asne1 (2,500), azure-sea.
    const input = {
      regions: [
        r("aws-use1", "aws", "us-east-1", "north-america"),
        r("aws-euw1", "aws", "eu-west-1", "europe"),
        r("gcp-usc1", "gcp", "us-central1", "north-america"),
        r("gcp-asne1", "gcp", "asia-northeast1", "asia"),
        r("azure-weu", "azure", "westeurope", "europe"),
        r("azure-sea", "azure", "southeastasia", "asia"),
      ],
      writers: ["aws-use1", "aws-euw1", "gcp-asne1"],
      writeGBPerMonth: { "aws-use1": 4000, "aws-euw1": 3500, "gcp-asne1": 2500 },
    };
    it("full mesh = $4,104.14", () => {
      // inter-region: use1→euw1 80 + euw1→use1 70 + asne1→usc1 (GCP Asia→NA 0.08) 200 = 350
      // aws-euw1 meter 14,000 − 100 free: 10,240 × 0.09 + 3,660 × 0.085 = 921.60 + 311.10 = 1,232.70
      // aws-use1 meter 16,000: 921.60 + 5,760 × 0.085 = 921.60 + 489.60 = 1,411.20
      // gcp-asne1 meter 10,000: 1,024 × 0.12 + 8,976 × 0.11 = 122.88 + 987.36 = 1,110.24      → 4,104.14
      expect(dollars(topologyCost(input, "full-mesh").monthlyCents)).toBe(4104.14);
    });
    it("star through aws-use1 = $3,766.64", () => {
      // aws-use1 holds aws-euw1's data as a read-only Aurora secondary: it cannot publish it, so those bytes leave aws-euw1.
      // inter-region: euw1→hub 70 + hub→euw1 (use1's and asne1's data) 6,500 × 0.02 = 130 = 200
      // aws-euw1 meter 4 × 3,500 = 14,000 − 100 free: 921.60 + 3,660 × 0.085 = 1,232.70
      // aws-use1 meter 3 × 6,500 + 4,000 = 23,500: 921.60 + 13,260 × 0.085 = 921.60 + 1,127.10 = 2,048.70
      // gcp-asne1 meter 2,500 (to the hub): 122.88 + 1,476 × 0.11 = 122.88 + 162.36 = 285.24      → 3,766.64
      expect(dollars(topologyCost(input, "star").monthlyCents)).toBe(3766.64);
    });
    it("regional = $951.24", () => {
      // aws-euw1→azure-weu (3,500 − 100 free) × 0.09 = 306.00; aws-use1→gcp-usc1 4,000 × 0.09 = 360.00;
      // gcp-asne1→azure-sea 122.88 + 162.36 = 285.24                                          → 951.24
      expect(dollars(topologyCost(input, "regional").monthlyCents)).toBe(951.24);
    });
    it("hierarchical = $4,098.84", () => {
      // inter-region 80 + 70 = 150; aws-euw1 meter 13,500 − 100 free: 10,240 × 0.09 + 3,160 × 0.085 = 921.60 + 268.60 = 1,190.20
      // aws-use1 meter 14,000: 921.60 + 3,760 × 0.085 = 921.60 + 319.60 = 1,241.20
      // gcp-asne1 meter 15,000: 122.88 + 1,013.76 + 4,760 × 0.08 = 122.88 + 1,013.76 + 380.80 = 1,517.44   → 4,098.84
      expect(dollars(topologyCost(input, "hierarchical").monthlyCents)).toBe(4098.84);
    });
  });
});
