// The pack over the real program: every shipped stack passes; prod with a forbidden shape does not.
import { describe, expect, it } from "vitest";
import { evaluateStack, sharedPlan, type Plan } from "../harness.js";
import { readStackConfigMap } from "../../stacks/load.js";
import { evaluatePolicies } from "../../policies/evaluate.js";
import { modelFromResources } from "../../policies/model-source.js";
import { withUnknowns } from "../../model/resources.js";

function violations(plan: Plan, config: unknown = {}) {
  const resources = plan.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Record<string, unknown> }));
  return evaluatePolicies(resources, modelFromResources(resources), config);
}

describe("policy pack over the mocked program", () => {
  for (const stack of ["local", "dev", "staging", "prod"]) {
    it(`passes the shipped ${stack} stack but for its placeholder image digests, egress addresses and Azure IDs (none on local)`, async () => {
      const plan = await sharedPlan(stack);
      const found = violations(plan);
      // Placeholder findings: meridian:runtime.image, meridian:imageDigests, the regions' mesh.egress, nil-UUID Azure IDs
      // (staging and prod, which have Azure regions; no default names a subscription). No image is referenced by tag.
      const placeholders = ["meridian-runtime-image-placeholder", "meridian-runtime-image-placeholder", "meridian-mesh-egress-placeholder"];
      expect(found.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy)).toEqual(
        stack === "local" ? [] : stack === "dev" ? placeholders : [...placeholders, "meridian-nil-uuid-placeholder"],
      );
      expect(found.map((v) => v.policy)).toContain("meridian-cost-table");
    });
  }
  it("passes staging once meridian:runtime.image and meridian:imageDigests name real digests, the regions their real egress, Azure and EKS their real IDs", async () => {
    const realIds = JSON.stringify(readStackConfigMap("staging")).replaceAll("00000000-0000-0000-0000-000000000000", "5e1f3a2b-8c4d-4e6f-9a0b-1c2d3e4f5a6b");
    const config = JSON.parse(realIds.replaceAll(/\/id\/0{24}/g, "/id/5E1F3A2B8C4D4E6F9A0B1C2D")) as Record<string, unknown>; // EKS issuers too
    const runtime = config["meridian:runtime"] as Record<string, unknown>;
    const digests = Object.fromEntries(Object.keys(config["meridian:imageDigests"] as object).map((k) => [k, `sha256:${"5e".repeat(32)}`]));
    const regions = (config["meridian:regions"] as { mesh: Record<string, unknown> }[]).map((r, i) => ({ ...r, mesh: { ...r.mesh, egress: [`34.120.7.${i + 1}/32`] } }));
    const plan = await evaluateStack("staging", {
      configOverrides: {
        "meridian:runtime": { ...runtime, image: `ghcr.io/meridian/runtime@sha256:${"5e".repeat(32)}` },
        "meridian:imageDigests": digests,
        "meridian:regions": regions,
        "meridian:replication": config["meridian:replication"],
      },
    });
    expect(violations(plan).filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
  }, 120_000);
  it("denies prod over a budget set in policy config", async () => {
    const plan = await sharedPlan("prod");
    expect(violations(plan, { monthlyUSD: 3000 })).toContainEqual(
      expect.objectContaining({ policy: "meridian-stack-budget", message: expect.stringMatching(/\$1\d,\d{3}\.\d\d exceeds the prod budget of \$3,000\.00/) }),
    );
  });
});
