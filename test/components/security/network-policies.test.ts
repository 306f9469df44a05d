// The security area in the prod plan: every namespace of every region gets its default-deny and allows,
// each applied after its namespace, and each valid against the Kubernetes NetworkPolicy schema.
import { beforeAll, describe, expect, it } from "vitest";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { ofType, type Plan } from "../../harness.js";
import { prodPlan } from "../workloads/plan.js";
import { NAMESPACES } from "../../../model/estate.js";

describe("meridian:security:NetworkPolicies (prod)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await prodPlan();
  }, 120_000);

  it("each region's namespaces are default-deny, with the policy depending on its namespace", () => {
    const policies = ofType(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    const namespaces = ofType(plan, "kubernetes:core/v1:Namespace");
    const regions = plan.outputs["regions"] as string[];
    expect(regions).toHaveLength(6);
    for (const region of regions) {
      for (const ns of Object.values(NAMESPACES)) {
        const deny = policies.find((p) => p.name === `${region}-${ns}-default-deny`);
        expect(deny, `${region} ${ns}`).toBeDefined();
        const nsUrn = namespaces.find((n) => n.name === `${region}-${ns}`)!.urn;
        expect(deny!.dependencies).toContain(nsUrn);
        expect(deny!.provider).toBe(namespaces.find((n) => n.name === `${region}-${ns}`)!.provider);
      }
    }
    for (const p of policies) expect(() => new NetworkPolicy(p.inputs as never).validate(), p.name).not.toThrow();
    expect((plan.outputs["security"] as { networkPolicies: Record<string, number> }).networkPolicies).toEqual(
      Object.fromEntries(regions.map((r) => [r, policies.filter((p) => p.name.startsWith(`${r}-`)).length])),
    );
  });

  it("Azure regions open Redis on 6380, the others on 6379", () => {
    const ratelimit = ofType(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((p) => p.name.endsWith("-allow-ratelimit"));
    expect(ratelimit).toHaveLength(6);
    for (const p of ratelimit) {
      const ports = JSON.stringify((p.inputs["spec"] as { egress: unknown }).egress);
      expect(ports, p.name).toContain(p.name.startsWith("azure-") ? '"port":6380' : '"port":6379');
    }
  });
});
