import { beforeAll, describe, expect, it } from "vitest";
import { ofType, type Plan, sharedPlan } from "../../harness.js";
import { CHARTS } from "../../../components/pki/charts.js";
import { PINNED_CHARTS, pinnedChart } from "./pinned-charts.js";
import { keyProblems, keysSource, schemaProblems } from "./chart-values.js";

interface ReleaseInputs {
  chart: string;
  version: string;
  repositoryOpts: { repo: string };
  values: Record<string, unknown>;
}

describe("every Helm release's values against its pinned chart", () => {
  let prod: Plan;
  beforeAll(async () => {
    prod = await sharedPlan("prod");
  }, 60_000);

  it("every release in the prod plan installs a vendored chart pin and its values pass that chart's check", () => {
    const releases = ofType(prod, "kubernetes:helm.sh/v3:Release");
    expect(releases.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const r of releases) {
      const { chart, version, repositoryOpts, values } = r.inputs as unknown as ReleaseInputs;
      const pin = pinnedChart(repositoryOpts.repo, chart, version);
      if (!pin) {
        problems.push(`${r.name}: ${repositoryOpts.repo} ${chart} ${version} has no vendored schema or key list (test/testdata/charts)`);
        continue;
      }
      problems.push(...pin.problems(values ?? {}).map((p) => `${r.name} (${chart} ${version}): ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it("every chart pinned in components/pki/charts.ts has a vendored check", () => {
    for (const [name, c] of Object.entries(CHARTS)) expect(pinnedChart(c.repo, c.chart, c.version), name).toBeDefined();
  });

  it("derived key lists come from the pinned tags", () => {
    expect(keysSource("spire-0.27.0/spire.keys.json").tag).toBe("spire-0.27.0");
    expect(keysSource("spire-crds-0.5.0/spire-crds.keys.json").tag).toBe("spire-crds-0.5.0");
    expect(keysSource("istio-1.28.0/istiod.keys.json").tag).toBe("1.28.0");
    expect(keysSource("istio-1.28.0/base.keys.json").tag).toBe("1.28.0");
  });
});

describe("the checks refuse what the charts refuse", () => {
  const spire = pinnedChart(CHARTS.spire.repo, "spire", "0.27.0")!;
  const istiod = pinnedChart(CHARTS.istiod.repo, "istiod", "1.28.0")!;

  it("SPIRE 0.27: the pre-rename upstreamAuthority.certManager keys (which the chart `fail`s on) are unknown", () => {
    const old = { "spire-server": { upstreamAuthority: { certManager: { enabled: true, issuer_name: "x", issuer_kind: "ClusterIssuer", issuer_group: "cert-manager.io" } } } };
    expect(spire.problems(old)).toEqual([
      "spire-server.upstreamAuthority.certManager.issuer_name: not a value the chart reads",
      "spire-server.upstreamAuthority.certManager.issuer_kind: not a value the chart reads",
      "spire-server.upstreamAuthority.certManager.issuer_group: not a value the chart reads",
    ]);
    expect(spire.problems({ "spire-server": { upstreamAuthority: { certManager: { enabled: true, issuerName: "x", issuerKind: "ClusterIssuer" } } } })).toEqual([]);
  });

  it("SPIRE: a misspelt global and a wrongly typed spire-agent value are refused; free-form maps accept any key", () => {
    expect(spire.problems({ global: { spire: { trustDomian: "a" } } })).toEqual(["global.spire.trustDomian: not a value the chart reads"]);
    expect(spire.problems({ "spire-agent": { server: { port: 0 } } }).join()).toMatch(/spire-agent\/server\/port: must be >= 1/);
    expect(spire.problems({ "spire-server": { podAnnotations: { "any.example/key": "v" } } })).toEqual([]);
  });

  it("cert-manager: its schema refuses an unknown key and a wrong type", () => {
    expect(schemaProblems("cert-manager-v1.19.1/values.schema.json", "cert-manager-v1.19.1/values.yaml", { installCRD: true })).toEqual(["/: must NOT have additional properties (installCRD)"]);
    expect(schemaProblems("cert-manager-v1.19.1/values.schema.json", "cert-manager-v1.19.1/values.yaml", { crds: { enabled: "yes" } }).join()).toMatch(/\/crds\/enabled: must be boolean/);
  });

  it("istiod: meshConfig is checked field by field against MeshConfig/ProxyConfig; chart keys against the templates", () => {
    expect(istiod.problems({ meshConfig: { trustDomain: "td", defaultConfig: { proxyStatsMatcher: { inclusionRegexps: ["x"] } } } })).toEqual([]);
    expect(istiod.problems({ meshConfig: { trustDomian: "td" } })).toEqual(["meshConfig.trustDomian: not a field of istio.mesh.v1alpha1.MeshConfig"]);
    expect(istiod.problems({ meshConfig: { defaultConfig: { holdApplicationUntilProxyStart: true } } })).toEqual([
      "meshConfig.defaultConfig.holdApplicationUntilProxyStart: not a field of istio.mesh.v1alpha1.ProxyConfig",
    ]);
    expect(keyProblems("istio-1.28.0/istiod.keys.json", { sidecarInjectorWebhook: { enableNamespaceByDefault: true } })).toEqual([
      "sidecarInjectorWebhook.enableNamespaceByDefault: not a value the chart reads",
    ]);
  });

  it("lists each pinned chart once", () => {
    const ids = PINNED_CHARTS.map((c) => `${c.chart}@${c.version}`);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
