import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { feeders, relayOf, replicationLinks, topologyFlows, type TopologyInput } from "../../../model/cost/topology.js";
import { continents, type Continent } from "../../../model/config/vocabulary.js";

const arbInput: fc.Arbitrary<TopologyInput> = fc.array(fc.constantFrom(...continents), { minLength: 2, maxLength: 8 }).chain((cs) => {
  const regions = cs.map((continent, i) => ({ id: `r${i}`, continent: continent as Continent }));
  return fc
    .subarray(
      regions.map((r) => r.id),
      { minLength: 1 },
    )
    .chain((writers) =>
      fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: writers.length, maxLength: writers.length }).map((gb) => ({
        regions,
        writers,
        writeGBPerMonth: Object.fromEntries(writers.map((w, i) => [w, gb[i]!])),
      })),
    );
});

describe("replication topologies", () => {
  it("full mesh, star and hierarchical deliver every write to every region exactly once", () => {
    fc.assert(
      fc.property(arbInput, fc.constantFrom("full-mesh", "star", "hierarchical" as const), (input, topology) => {
        const flows = topologyFlows(input, topology);
        for (const w of input.writers) {
          const received = flows
            .filter((f) => f.writer === w)
            .map((f) => f.to)
            .sort();
          expect(received).toEqual(
            input.regions
              .map((r) => r.id)
              .filter((id) => id !== w)
              .sort(),
          );
          // Every hop starts where the data already is.
          const holders = feeders(input, topology).get(w)!;
          for (const f of flows.filter((x) => x.writer === w)) expect(holders.has(f.from)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
  it("a region fed across clouds is fed by a writable copy, never by a same-cloud (read-only) replica", () => {
    const clouds = ["aws", "gcp", "azure"];
    fc.assert(
      fc.property(arbInput, fc.array(fc.constantFrom(...clouds), { minLength: 8, maxLength: 8 }), fc.constantFrom("full-mesh", "star", "hierarchical", "regional" as const), (input, cs, topology) => {
        const withClouds = { ...input, regions: input.regions.map((r, i) => ({ ...r, cloud: cs[i]! })) };
        const cloudOf = new Map(withClouds.regions.map((r) => [r.id, r.cloud]));
        const plain = feeders(input, topology);
        for (const [w, holders] of feeders(withClouds, topology)) {
          // The same regions hold the writer's data; only who feeds them may change.
          expect([...holders.keys()].sort()).toEqual([...plain.get(w)!.keys()].sort());
          for (const [to, from] of holders) {
            if (from === null || cloudOf.get(from) === cloudOf.get(to)) continue;
            const fromsFeeder = holders.get(from);
            expect(fromsFeeder === null || cloudOf.get(fromsFeeder!) !== cloudOf.get(from)).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
  it("regional keeps each write on its writer's continent", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const continentOf = new Map(input.regions.map((r) => [r.id, r.continent]));
        for (const f of topologyFlows(input, "regional")) expect(continentOf.get(f.to)).toBe(continentOf.get(f.writer));
      }),
      { numRuns: 100 },
    );
  });
  it("hierarchical crosses each continent boundary once per write", () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const continentOf = new Map(input.regions.map((r) => [r.id, r.continent]));
        const others = new Set(input.regions.map((r) => r.continent)).size - 1;
        for (const w of input.writers) {
          const crossings = topologyFlows(input, "hierarchical").filter((f) => f.writer === w && continentOf.get(f.from) !== continentOf.get(f.to));
          expect(crossings).toHaveLength(others);
        }
      }),
      { numRuns: 100 },
    );
  });
  it("links sum the flows; a continent's relay is its first writer, else its first region", () => {
    const input: TopologyInput = {
      regions: [
        { id: "a", continent: "europe" },
        { id: "b", continent: "europe" },
        { id: "c", continent: "asia" },
      ],
      writers: ["c", "b"],
      writeGBPerMonth: { c: 10, b: 5 },
    };
    expect(relayOf(input, "europe")).toBe("b");
    expect(relayOf(input, "asia")).toBe("c");
    expect(replicationLinks(input, "hierarchical")).toEqual([
      {
        from: "b",
        to: "a",
        gb: 15,
        carries: [
          { writer: "c", gb: 10 },
          { writer: "b", gb: 5 },
        ],
      },
      { from: "b", to: "c", gb: 5, carries: [{ writer: "b", gb: 5 }] },
      { from: "c", to: "b", gb: 10, carries: [{ writer: "c", gb: 10 }] },
    ]);
  });
});
