import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HEALTH_STATES, type HealthState } from "../../../model/traffic/health.js";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { inPrefix, labClientNetworks, locateClient, resolveQuery } from "../../../model/traffic/resolve.js";
import { seededUniform } from "../../../model/random.js";
import { chiSquare, chiSquareCritical } from "./chi-square.js";
import { specWithDns } from "./fixtures.js";

const ids = ["local-aws", "local-gcp", "local-azure"];
const endpoints = { "local-aws": "127.0.1.1", "local-gcp": "127.0.1.2", "local-azure": "127.0.1.3" };
const policyFor = (patch: Record<string, unknown>) => trafficPolicy(specWithDns("local", patch));
const nowhere = { address: "192.0.2.7" };

/** Draw `n` answers and count them per region id (in `ids` order). */
function sample(n: number, seed: number, resolveOne: (random: () => number) => string | undefined): number[] {
  const random = seededUniform(seed);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = resolveOne(random);
    if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return ids.map((id) => counts.get(id) ?? 0);
}

describe("resolveQuery: weighted", () => {
  it("1,000 queries follow the weights 200/50/5 within chi-square tolerance, one address per answer", () => {
    const policy = policyFor({ routing: "weighted", weights: { "local-aws": 200, "local-gcp": 50, "local-azure": 5 } });
    const networks = labClientNetworks(policy, endpoints);
    const observed = sample(1000, 7, (random) => {
      const r = resolveQuery(policy, {}, endpoints, nowhere, networks, random);
      expect(r.address).toBe(endpoints[r.regionId as keyof typeof endpoints]);
      return r.regionId;
    });
    const expected = [200, 50, 5].map((w) => (1000 * w) / 255);
    const { statistic, df } = chiSquare(observed, expected);
    expect(statistic).toBeLessThan(chiSquareCritical(df));
    // The same test rejects the old behaviour (every answer region 1) and a uniform draw.
    expect(chiSquare([1000, 0, 0], expected).statistic).toBeGreaterThan(chiSquareCritical(df));
    expect(chiSquare([334, 333, 333], expected).statistic).toBeGreaterThan(chiSquareCritical(df));
  });

  it("property: any weights and health, the draws follow the model's weights (degraded factor included, never an unhealthy region unless failing open)", () => {
    const state = fc.constantFrom<HealthState>(...HEALTH_STATES);
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 255 })),
        fc.tuple(state, state, state),
        fc.constantFrom(0.1, 0.5, 0.9),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (w, h, factor, seed) => {
          const policy = policyFor({ routing: "weighted", weights: Object.fromEntries(ids.map((id, i) => [id, w[i]])), degraded: { failingShare: 0.3, weightFactor: factor } });
          const health = Object.fromEntries(ids.map((id, i) => [id, h[i]!]));
          const networks = labClientNetworks(policy, endpoints);
          const first = resolveQuery(policy, health, endpoints, nowhere, networks, Math.random);
          const modelWeights = ids.map((id) => first.candidates.find((c) => c.regionId === id)?.weight ?? 0);
          // The model's own numbers: healthy weight, round(healthy × factor) when degraded, 0 when unhealthy.
          if (!first.failOpen) {
            const byState = ids.map((_, i) => (h[i] === "healthy" ? w[i]! : h[i] === "degraded" ? Math.round(w[i]! * factor) : 0));
            expect(modelWeights).toEqual(byState);
          }
          const total = modelWeights.reduce((a, b) => a + b, 0);
          const observed = sample(1000, seed, (random) => resolveQuery(policy, health, endpoints, nowhere, networks, random).regionId);
          ids.forEach((_, i) => {
            if (modelWeights[i] === 0) expect(observed[i]).toBe(0);
          });
          if (total === 0) return;
          const { statistic, df } = chiSquare(
            observed,
            modelWeights.map((x) => (1000 * x) / total),
          );
          expect(statistic).toBeLessThan(chiSquareCritical(df));
        },
      ),
      { seed: 19, numRuns: 60 },
    );
  });
});

describe("resolveQuery: who is asking", () => {
  const geo = policyFor({ routing: "geo" });
  const latency = policyFor({ routing: "latency" });
  const networks = labClientNetworks(geo, endpoints);
  const one = (policy: typeof geo, client: Parameters<typeof resolveQuery>[3], health = {}) => resolveQuery(policy, health, endpoints, client, networks, seededUniform(1));

  it("geo: the EDNS Client Subnet wins over the resolver's own address; an unknown client gets every region", () => {
    const eu = one(geo, { address: "127.0.0.1", subnet: { address: "100.66.0.0", prefixLength: 24 } });
    expect(eu).toMatchObject({ regionId: "local-gcp", clientFrom: "ecs", continent: "europe", candidates: [{ regionId: "local-gcp", weight: 100 }] });
    expect(one(geo, { address: "100.67.3.4" })).toMatchObject({ regionId: "local-azure", clientFrom: "address", continent: "asia" });
    // Oceania has no region: it borrows the nearest continent's (Asia, the model's geo groups).
    expect(one(geo, { address: "100.68.0.9" })).toMatchObject({ regionId: "local-azure", continent: "oceania" });
    const unknown = one(geo, nowhere);
    expect(unknown.clientFrom).toBe("unknown");
    expect(unknown.candidates.map((c) => c.regionId)).toEqual(ids);
  });

  it("geo: a client whose continent's regions are all down is answered from every serving region", () => {
    const r = one(geo, { address: "100.66.1.1" }, { "local-gcp": "unhealthy" });
    expect(r.candidates.map((c) => c.regionId)).toEqual(["local-aws", "local-azure"]);
  });

  it("latency: the nearest serving region to the client (a region's own address is at that region)", () => {
    expect(one(latency, { address: "127.0.1.3" }).regionId).toBe("local-azure");
    expect(one(latency, { address: "127.0.0.1", subnet: { address: "100.64.10.0", prefixLength: 24 } }).regionId).toBe("local-aws");
    // Europe's nearest is local-gcp; with it down, the next nearest (North America before Asia).
    expect(one(latency, { address: "100.66.0.1" }).regionId).toBe("local-gcp");
    expect(one(latency, { address: "100.66.0.1" }, { "local-gcp": "unhealthy" }).regionId).toBe("local-aws");
  });

  it("failover: the first serving region in the configured order, whatever the client", () => {
    const failover = policyFor({ routing: "failover", failoverOrder: ["local-gcp", "local-aws", "local-azure"] });
    expect(one(failover, nowhere).regionId).toBe("local-gcp");
    expect(one(failover, { address: "100.67.0.1" }).regionId).toBe("local-gcp");
    expect(one(failover, nowhere, { "local-gcp": "unhealthy" }).regionId).toBe("local-aws");
    expect(one(failover, nowhere, { "local-gcp": "unhealthy", "local-aws": "unhealthy" }).regionId).toBe("local-azure");
    const allDown = one(failover, nowhere, Object.fromEntries(ids.map((id) => [id, "unhealthy"])));
    expect(allDown).toMatchObject({ regionId: "local-gcp", failOpen: true });
  });

  it("client networks: most specific prefix first, IPv4-mapped addresses, nonsense never matches", () => {
    expect(inPrefix("100.66.255.255", "100.66.0.0/16")).toBe(true);
    expect(inPrefix("100.67.0.0", "100.66.0.0/16")).toBe(false);
    expect(inPrefix("::ffff:100.66.1.2", "100.66.0.0/16")).toBe(true);
    expect(inPrefix("2001:db8::1", "100.66.0.0/16")).toBe(false);
    expect(inPrefix("300.1.1.1", "0.0.0.0/0")).toBe(false);
    expect(inPrefix("1.2.3.4", "0.0.0.0/0")).toBe(true);
    const nets = [
      { prefix: "127.0.0.0/8", label: "wide", continent: "africa" as const },
      { prefix: "127.0.1.2/32", label: "narrow", continent: "europe" as const },
    ];
    expect(locateClient({ address: "127.0.1.2" }, nets).network?.label).toBe("narrow");
    expect(locateClient({ address: "127.9.9.9" }, nets).network?.label).toBe("wide");
  });
});
