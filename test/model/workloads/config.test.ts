import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escrowAllocations } from "../../../model/escrow/estate.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { clockRegionConfig, ledgerRegion, proofLogConfig } from "../../../model/workloads/config.js";
import { escrowRegionConfig } from "../../../model/workloads/escrow-region.js";
import { rateLimitRegionConfig, rateLimitShares } from "../../../model/workloads/ratelimit-shares.js";
import { parseRateLimitConfig } from "../../../runtime/ratelimit/config/schema.js";
import { parseEscrowConfig } from "../../../runtime/escrow/index.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

const prod = (): EstateSpec => buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));

describe("rate-limit shares", () => {
  it("split the estate's limit by capacity: whole requests, summing exactly, each within one of its exact share", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 12 }), (total, capacities) => {
        const regions = capacities.map((capacity, i) => ({ id: `r${i}`, capacity }));
        const spec = { regions, runtime: { ratelimit: { requestsPerSecond: total } } } as unknown as EstateSpec;
        const shares = rateLimitShares(spec);
        const sum = capacities.reduce((s, c) => s + c, 0);
        expect(Object.values(shares).reduce((s, n) => s + n, 0)).toBe(total);
        for (const r of regions) {
          expect(Number.isInteger(shares[r.id])).toBe(true);
          expect(Math.abs(shares[r.id]! - (total * r.capacity) / sum)).toBeLessThan(1);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a region with more capacity never gets fewer requests", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 2, maxLength: 8 }), (total, capacities) => {
        const regions = capacities.map((capacity, i) => ({ id: `r${i}`, capacity }));
        const shares = rateLimitShares({ regions, runtime: { ratelimit: { requestsPerSecond: total } } } as unknown as EstateSpec);
        for (const a of regions) for (const b of regions) if (a.capacity > b.capacity) expect(shares[a.id]!).toBeGreaterThanOrEqual(shares[b.id]!);
      }),
      { numRuns: 200 },
    );
  });

  it("renders envoyproxy/ratelimit YAML that the service's own parser accepts", () => {
    const spec = prod();
    for (const region of spec.regions) {
      const cfg = rateLimitRegionConfig(spec, region.id);
      const [domain] = parseRateLimitConfig(cfg.yaml, `${region.id}.yaml`);
      expect(domain!.domain).toBe("meridian");
      expect(domain!.descriptors).toMatchObject([{ key: "generic_key", value: "meridian", rate_limit: { name: `meridian-${region.id}`, unit: "second", requests_per_unit: cfg.requestsPerSecond } }]);
    }
  });
});

describe("per-region service config", () => {
  it("escrow: the service's own config for the region, every SKU's allocation from the model", () => {
    const spec = prod();
    const all = escrowAllocations(spec);
    for (const region of spec.regions) {
      const cfg = parseEscrowConfig(escrowRegionConfig(spec, region.id));
      expect(cfg.regions).toEqual([region.id]);
      expect(cfg.skus.map((s) => s.allocation[region.id])).toEqual(all.map((a) => a.regions[region.id]));
      expect(cfg.reservationTtlSeconds).toBe(spec.runtime.escrow.reservationTtlSeconds);
    }
  });

  it("clock: max offset and skew thresholds from meridian:time", () => {
    const spec = prod();
    expect(clockRegionConfig(spec, spec.regions[0]!.id)).toMatchObject({ maxOffsetMs: 250, degradeFraction: spec.time.skew.degradeFraction, freezeFraction: spec.time.skew.freezeFraction });
  });

  it("prooflog: one origin, witnesses by name or with URL and key, sequenced on the first writer", () => {
    const spec = prod();
    const vkey = "witness-d+0a1b2c3d+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    const deployed = "witness-e+0a1b2c3d+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    const { witnessThreshold: _pinned, ...prooflog } = spec.runtime.prooflog;
    spec.runtime.prooflog = { ...prooflog, witnesses: ["witness-a", { name: "witness-d", url: "https://witness-d.example", vkey }, { name: "witness-e", region: "gcp-asne1", vkey: deployed }] };
    expect(proofLogConfig(spec)).toEqual({
      origin: "meridian.example.com/log",
      // A witness the estate deploys is reached at its region's own Service (the mesh routes it to that cluster).
      witnesses: [
        { name: "witness-a" },
        { name: "witness-d", url: "https://witness-d.example", vkey },
        { name: "witness-e", url: "http://witness-gcp-asne1.meridian.svc.cluster.local:8080", vkey: deployed },
      ],
      sequencerRegion: "aws-use1",
    });
    expect(ledgerRegion(spec)).toBe(spec.replication.writers[0]);
  });

  it("unknown regions and estates without a writer are refused by name", () => {
    const spec = prod();
    expect(() => escrowRegionConfig(spec, "nowhere")).toThrow(/unknown region nowhere/);
    expect(() => ledgerRegion({ replication: { ...spec.replication, writers: [] } })).toThrow(/writers is empty/);
  });

  it("the schema checks a witness's URL and that its key carries its name", () => {
    const map = readStackConfigMap("prod");
    const runtime = map["meridian:runtime"] as Record<string, unknown>;
    map["meridian:runtime"] = { ...runtime, prooflog: { origin: "o", witnesses: [{ name: "w1", url: "ftp://x", vkey: "w2+0a1b2c3d+AAAA" }] } };
    let message = "";
    try {
      parseEstateConfig(map, "prod");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/prooflog\.witnesses\[0\]\.url: got "ftp:\/\/x"; expected an http\(s\) URL/);
    expect(message).toMatch(/prooflog\.witnesses\[0\]\.vkey: .*must be the witness name/);
  });
});
