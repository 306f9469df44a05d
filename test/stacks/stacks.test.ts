import { describe, expect, it } from "vitest";
import { listStacks } from "../../stacks/load.js";
import { ofType, sharedPlan, under } from "../harness.js";

describe("every shipped stack file evaluates", () => {
  it("ships local, dev, staging and prod", () => {
    expect(listStacks()).toEqual(["dev", "local", "prod", "staging"]);
  });

  for (const stack of ["local", "dev", "staging", "prod"]) {
    it(`${stack}: one cluster per region with namespaces and a gateway whose address is the endpoint`, async () => {
      // The worker's one plan of the stack (prod's is read by many files of the shared project): read only here.
      const plan = await sharedPlan(stack);
      const clusters = ofType(plan, "meridian:index:RegionCluster");
      const regions = plan.outputs["regions"] as string[];
      expect(clusters.map((c) => c.name)).toEqual(regions);
      for (const cluster of clusters) {
        const inside = under(plan, "meridian:index:RegionCluster", cluster.name);
        expect(inside.filter((r) => r.type === "pulumi:providers:kubernetes")).toHaveLength(1);
        expect(inside.filter((r) => r.type === "kubernetes:core/v1:Namespace").length).toBeGreaterThanOrEqual(3);
        const [gateway] = inside.filter((r) => r.type === "kubernetes:core/v1:Service");
        expect(gateway?.inputs).toMatchObject({ spec: { type: "LoadBalancer" } });
      }
      const endpoints = plan.outputs["endpoints"] as Record<string, string>;
      expect(Object.keys(endpoints)).toEqual(regions);
      // The mock assigns each resource its own address in 198.18.0.0/15 (components/preview/mock-runtime.ts).
      for (const address of Object.values(endpoints)) expect(address).toMatch(/^198\.1[89]\.\d+\.\d+$/);
      expect(new Set(Object.values(endpoints)).size).toBe(regions.length);
    });
  }

  it("prod spans at least 6 regions on all three clouds and 3 continents", async () => {
    const { loadStack } = await import("../../stacks/load.js");
    const prod = loadStack("prod");
    expect(prod.regions.length).toBeGreaterThanOrEqual(6);
    expect(new Set(prod.regions.map((r) => r.cloud))).toEqual(new Set(["aws", "gcp", "azure"]));
    expect(new Set(prod.regions.map((r) => r.continent)).size).toBeGreaterThanOrEqual(3);
  });
});
