import { beforeAll, describe, expect, it } from "vitest";
import { ofType, type Plan, sharedPlan } from "../../harness.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { checkRules, checkRulesEach, testRules } from "./promtool.js";
import { ALERT_CASES, goFloat, ruleTests, type RuleFile } from "./rule-tests.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const alertNames = (file: RuleFile) => file.groups.flatMap((g) => g.rules).flatMap((r) => ("alert" in r ? [r.alert] : []));

describe("every PrometheusRule the prod estate renders, by promtool", () => {
  let rules: { name: string; rule: string; spec: RuleFile }[];
  beforeAll(async () => {
    const plan: Plan = await sharedPlan("prod");
    rules = ofType(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").map((r) => ({
      name: r.name,
      rule: (r.inputs["metadata"] as { name: string }).name,
      spec: r.inputs["spec"] as RuleFile,
    }));
  }, 60_000);

  it("the plan renders PKI, clock, replication lag, rate-limit anomaly, attestation, proof log monitor and certificate chain rules in every region, and witness rules where a witness runs", () => {
    expect(new Set(rules.map((r) => r.rule))).toEqual(new Set(["meridian-pki", "clock-health", "replication-lag", "ratelimit", "attest", "monitor", "witness", "certchain"]));
    // prod deploys three witnesses (aws-euw1, gcp-asne1, azure-weu).
    expect(rules.length).toBe(spec.regions.length * 7 + 3);
  });

  it("`promtool check rules` accepts every rule file", () => {
    const results = checkRulesEach(rules.map((r) => r.spec));
    const failures = rules.map((r, i) => ({ name: r.name, ...results[i]! })).filter((r) => !r.ok);
    expect(failures.map((f) => `${f.name}: ${f.output}`)).toEqual([]);
  });

  it("every alert of every rule has a unit test that makes it fire", () => {
    for (const r of rules) {
      const cases = ALERT_CASES[r.rule];
      expect(cases, `no promtool unit tests for PrometheusRule ${r.rule} (test/components/pki/rule-tests.ts)`).toBeDefined();
      const tested = new Set(
        cases!(spec, r.spec)
          .filter((c) => c.fires.length > 0)
          .map((c) => c.alert),
      );
      expect(
        alertNames(r.spec).filter((a) => !tested.has(a)),
        r.name,
      ).toEqual([]);
    }
  });

  it("`promtool test rules` passes every unit test, one region per rule (the regions differ only in labels, but for the copies each region's lag rule watches)", () => {
    const seen = new Set<string>();
    for (const r of rules) {
      const key = r.rule === "replication-lag" ? r.name : r.rule;
      if (seen.has(key)) continue;
      seen.add(key);
      const result = testRules(r.spec, ruleTests(r.spec, ALERT_CASES[r.rule]!(spec, r.spec)));
      expect(result.ok, `${r.name}:\n${result.output}`).toBe(true);
    }
  });

  it("the unit tests can fail: a wrong threshold, label or missing alert is reported by promtool", () => {
    const pki = rules.find((r) => r.rule === "meridian-pki")!.spec;
    const cases = ALERT_CASES["meridian-pki"]!(spec, pki);
    const soon = cases.find((c) => c.alert === "CertificateExpiringSoon")!;
    const wrongLabel = { ...soon, fires: [{ labels: { ...soon.fires[0]!.labels, namespace: "elsewhere" } }] };
    expect(testRules(pki, ruleTests(pki, [wrongLabel])).ok).toBe(false);
    // The expiry threshold tightened to 7 days: the 14-day certificate must no longer page.
    const tightened = JSON.parse(JSON.stringify(pki).replace(`< ${21 * 86400}`, `< ${7 * 86400}`)) as RuleFile;
    expect(testRules(tightened, ruleTests(tightened, [soon])).ok).toBe(false);
  });

  it("testRules evaluates an alert with the group recording what it reads, listed in another group", () => {
    // The alert reads a series recorded in another group, listed after it; a third group's alert fires on any input.
    const file = {
      groups: [
        { name: "alerts", rules: [{ alert: "Hot", expr: "job:temp:max > 50" }] },
        { name: "noisy", rules: [{ alert: "Always", expr: "vector(1)" }] },
        { name: "records", rules: [{ record: "job:temp:max", expr: "max by (job) (temp)" }] },
      ],
    };
    const hot = { series: [{ series: 'temp{job="a"}', values: "60x10" }], healthy: [{ series: 'temp{job="a"}', values: "20x10" }], evalTime: "5m" };
    expect(testRules(file, ruleTests(file, [{ alert: "Hot", ...hot, fires: [{ labels: { job: "a" } }] }]))).toMatchObject({ ok: true });
    expect(testRules(file, ruleTests(file, [{ alert: "Hot", ...hot, fires: [{ labels: { job: "b" } }] }])).ok).toBe(false);
    expect(testRules(file, ruleTests(file, [{ alert: "Always", ...hot, fires: [{ labels: {} }] }]))).toMatchObject({ ok: false }); // it fires when healthy too
  });

  it("promtool rejects the rule file the single `[W]` replacement used to produce", () => {
    const broken: RuleFile & { groups: { name: string; rules: { record: string; expr: string }[] }[] } = {
      groups: [
        { name: "g", rules: [{ record: "meridian:mesh_handshake:error_ratio_5m", expr: "sum(rate(envoy_listener_ssl_connection_error[5m])) / sum(rate(envoy_listener_downstream_cx_total[W]))" }] },
      ],
    };
    const result = checkRules(broken);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/parse error|bad duration|unexpected/i);
  });

  it("goFloat prints floats as Go's %v does", () => {
    expect([1200, 0.1625, 1e6, 1234567, 0.00001, 0.2475].map(goFloat)).toEqual(["1200", "0.1625", "1e+06", "1.234567e+06", "1e-05", "0.2475"]);
  });
});
