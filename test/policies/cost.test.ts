import { describe, expect, it } from "vitest";
import { parsePackConfig } from "../../policies/config.js";
import { evaluatePolicies, modelView } from "../../policies/evaluate.js";
import { costTable, egressTopology, stackBudget } from "../../policies/rules/cost.js";
import { buildEstateSpec, type EstateSpec } from "../../model/estate.js";
import { loadStack } from "../../stacks/load.js";

const prod = (): EstateSpec => buildEstateSpec("prod", loadStack("prod"));
const ctx = (spec: EstateSpec, raw: unknown = {}) => ({ config: parsePackConfig(raw), model: modelView(spec, { sources: [] }) });

describe("meridian-stack-budget", () => {
  it("passes prod ($4,100.67 of replication and east-west egress against $25,000)", () => {
    expect(stackBudget.check([], ctx(prod()))).toEqual([]);
  });
  it("denies an estimate over the budget from policy config, naming the largest resources", () => {
    const [f] = stackBudget.check([], ctx(prod(), { monthlyUSD: 4000 }));
    expect(f!.message).toMatch(/monthly estimate \$4,100\.67 exceeds the prod budget of \$4,000\.00 \(largest: replication\/gcp-asne1->azure-sea \$1,200\.00/);
  });
  it("is not applicable without a model", () => {
    expect(stackBudget.check([], { config: parsePackConfig({}), model: null })).toEqual([]);
  });
});

describe("meridian-egress-topology", () => {
  it("passes prod's hierarchical replication", () => {
    expect(egressTopology.check([], ctx(prod()))).toEqual([]);
  });
  it("denies a full mesh over 6 regions (limit 4) naming the cheaper topology and its cost", () => {
    const spec = prod();
    const [f] = egressTopology.check([], ctx({ ...spec, replication: { ...spec.replication, topology: "full-mesh" } }));
    // Full mesh $4,104.14; star $3,766.64 (see docs/cost.md).
    expect(f!.message).toMatch(/full-mesh replication over 6 regions \(limit 4\) costs \$4,104\.14\/month; use star \(\$3,766\.64\/month\) or regional/);
  });
  it("denies a link above maxLinkMonthlyUSD", () => {
    const findings = egressTopology.check([], ctx(prod(), { maxLinkMonthlyUSD: 1000 }));
    expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/^replication link gcp-asne1 -> azure-sea costs \$1,200\.00\/month \(10000 GB, internet\), above \$1,000\.00/)]);
  });
});

describe("meridian-cost-table (advisory)", () => {
  it("lists every resource's monthly cost, most expensive first", () => {
    const [table, warn] = costTable.check([], ctx(prod()));
    expect(table!.message.split("\n")[0]).toBe("monthly cost estimate $4,100.67 of $25,000.00 budget:");
    expect(table!.message.split("\n")[1]).toMatch(/replication\/gcp-asne1->azure-sea\s+\$1,200\.00/);
    expect(warn).toBeUndefined();
  });
  it("warns near the budget", () => {
    const findings = costTable.check([], ctx(prod(), { monthlyUSD: 4500 }));
    expect(findings[1]!.message).toMatch(/estimate is 91\.1% of the budget \(warns at 80%\)/);
  });
});

describe("evaluatePolicies", () => {
  it("reports each violation with its rule, level and resource", () => {
    const v = evaluatePolicies([{ type: "aws:rds/clusterInstance:ClusterInstance", name: "db", urn: "urn:x", props: { publiclyAccessible: true } }], null);
    expect(v).toEqual([
      {
        policy: "meridian-no-public-databases",
        enforcementLevel: "mandatory",
        message: "publiclyAccessible is true",
        resource: { type: "aws:rds/clusterInstance:ClusterInstance", name: "db", urn: "urn:x" },
      },
    ]);
  });
  it("rejects a malformed policy config naming the key", () => {
    expect(() => evaluatePolicies([], null, { maxLinkMonthlyUSD: "a lot" })).toThrow(/policy config: maxLinkMonthlyUSD/);
  });
});

describe("policies/config.prod.json", () => {
  it("every entry is a valid policy config", async () => {
    const { readFileSync } = await import("node:fs");
    const { parsePackConfig: parse } = await import("../../policies/config.js");
    const file = JSON.parse(readFileSync(new URL("../../policies/config.prod.json", import.meta.url), "utf8")) as Record<string, unknown>;
    for (const [policy, cfg] of Object.entries(file)) expect(() => parse(cfg), policy).not.toThrow();
    // The budget is the stack's (meridian:budget.monthlyUSD): the shipped config does not pin one.
    expect(parse(file["meridian-stack-budget"]).monthlyUSD).toBeUndefined();
  });
});
