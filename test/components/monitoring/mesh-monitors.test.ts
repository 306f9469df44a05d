// Monitoring of the mesh's own components and the grandmaster, the monitoring and time areas alone under the mock
// runtime: each monitor
// validates against prometheus-operator's CRD schema, scrapes the port the pinned chart opens (SPIRE's values file,
// the release's values), Prometheus may reach it through the NetworkPolicies, and none scrapes an mTLS-only port.
// The alerts that read these metrics load in promtool and fire (and stay quiet) as their unit tests say.
import { PodMonitor, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { monitorShape } from "../../../components/monitoring/mesh-monitors.js";
import { prometheusRule } from "../../../components/pki/alerts.js";
import { spireValues } from "../../../components/pki/spire.js";
import { prometheusRuleSpec } from "../../../components/time/rules.js";
import { NAMESPACES, buildEstateSpec, regionById } from "../../../model/estate.js";
import { MERGED_METRICS } from "../../../model/security/istio-injection.js";
import { regionNetworkPolicies } from "../../../model/security/network.js";
import { NAMESPACE_POSTURE, namespaceSecurityLabels } from "../../../model/security/posture.js";
import { EAST_WEST_SCRAPE_TARGET, MESH_SCRAPE_TARGETS, meshScrapeTargets, scrapeJob } from "../../../model/security/scrape-targets.js";
import { eastWestGatewayValues, meshMember, multiPrimaryMesh } from "../../../model/mesh/multi-primary.js";
import { GRANDMASTER, timeHierarchy } from "../../../model/time/hierarchy.js";
import { loadStack } from "../../../stacks/load.js";
import { evaluateStack, type RecordedResource } from "../../harness.js";
import { checkRules, testRules } from "../pki/promtool.js";
import { meshAlertCases, ruleTests, timeAlertCases, type RuleFile } from "../pki/rule-tests.js";
import { allowed, type Endpoint } from "../../model/security/netpol-eval.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const REGION = "aws-use1";
type Obj = Record<string, unknown>;
const validate = (m: { kind: string }) => (m.kind === "PodMonitor" ? new PodMonitor(m as never).validate() : new ServiceMonitor(m as never).validate());
const nsLabels = (ns: string) => {
  const role = (Object.keys(NAMESPACES) as (keyof typeof NAMESPACES)[]).find((r) => NAMESPACES[r] === ns)!;
  return { "kubernetes.io/metadata.name": ns, ...namespaceSecurityLabels(role) };
};
const pod = (namespace: string, labels: Record<string, string>): Endpoint => ({ namespace, namespaceLabels: nsLabels(namespace), labels });
const prometheus = pod(NAMESPACES.monitoring, { "app.kubernetes.io/name": "prometheus" });
/** prod is a multi-cluster mesh: its targets include the east-west gateway's Envoy. */
const TARGETS = meshScrapeTargets(true);
const chartTemplate = (f: string) => readFileSync(new URL(`../../testdata/charts/istio-1.28.0/gateway-templates/${f}`, import.meta.url), "utf8");

describe("mesh scrape targets (prod)", () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await evaluateStack("prod", { areas: ["monitoring"] })).resources;
  }, 120_000);
  const monitors = () => resources.filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com/v1:") && r.name.startsWith(`${REGION}-`));

  it("renders one valid monitor per target, in the target's namespace, through the region's provider", () => {
    expect(resources.filter((r) => r.type.startsWith("kubernetes:monitoring.coreos.com/v1:")).length).toBe(spec.regions.length * TARGETS.length);
    expect(
      monitors()
        .map((r) => (r.inputs["metadata"] as { name: string }).name)
        .sort(),
    ).toEqual(TARGETS.map((t) => t.name).sort());
    for (const r of monitors()) {
      const t = TARGETS.find((x) => x.name === (r.inputs["metadata"] as { name: string }).name)!;
      expect(r.type).toBe(`kubernetes:monitoring.coreos.com/v1:${t.kind}`);
      expect(() => validate(r.inputs as never), t.name).not.toThrow();
      expect(r.inputs).toMatchObject({ metadata: { namespace: t.namespace }, spec: { selector: { matchLabels: t.selector } } });
      expect(r.provider).toMatch(new RegExp(`${REGION}-k8s`));
    }
  });

  it("the schema refuses a broken monitor (the validation can fail)", () => {
    const broken = monitorShape(MESH_SCRAPE_TARGETS[0]!) as unknown as { spec: { podMetricsEndpoints: Obj[] } };
    broken.spec.podMetricsEndpoints[0]!["port"] = 9988;
    expect(() => validate(broken as never)).toThrow();
    const svc = monitorShape(MESH_SCRAPE_TARGETS.find((t) => t.kind === "ServiceMonitor")!) as unknown as { spec: Obj };
    svc.spec["endpoints"] = "http-monitoring";
    expect(() => validate(svc as never)).toThrow();
  });

  it("SPIRE's targets are the `prom` port the chart opens: telemetry on in the release, on the agent's default port", () => {
    const values = spireValues(spec, regionById(spec, REGION)) as Record<string, { telemetry?: { prometheus: Obj } }>;
    for (const sub of ["spire-server", "spire-agent"]) {
      expect(values[sub]!.telemetry!.prometheus["enabled"], sub).toBe(true);
      // The server's port is fixed in its template (9988); the agent's is a value we leave at the chart default.
      expect(values[sub]!.telemetry!.prometheus["port"], sub).toBeUndefined();
    }
    const agentDefaults = parse(readFileSync(new URL("../../testdata/charts/spire-0.27.0/spire-agent.values.yaml", import.meta.url), "utf8")) as { telemetry: { prometheus: { port: number } } };
    for (const t of MESH_SCRAPE_TARGETS.filter((x) => x.namespace === NAMESPACES.spire)) {
      expect([t.port, t.portNumber]).toEqual(["prom", agentDefaults.telemetry.prometheus.port]);
      expect(t.selector["app.kubernetes.io/instance"]).toBe("spire");
    }
  });

  it("Prometheus may reach every target's port through the NetworkPolicies, and only unmeshed or Envoy-stats ports are scraped", () => {
    const grandmaster = timeHierarchy(spec).find((p) => p.region === REGION)!.grandmaster !== null;
    const policies = regionNetworkPolicies({ cloud: "aws", stores: {}, grandmaster, multiCluster: true });
    for (const t of TARGETS) {
      expect(allowed(policies, prometheus, pod(t.namespace, t.selector), t.portNumber), `${t.name}:${t.portNumber}`).toBe(true);
      // A meshed namespace's own ports speak mTLS only: Envoy's stats port is the one plaintext exception.
      if (NAMESPACE_POSTURE[(Object.keys(NAMESPACES) as (keyof typeof NAMESPACES)[]).find((r) => NAMESPACES[r] === t.namespace)!].injection) expect(t.path, t.name).toBe("/stats/prometheus");
    }
    expect(allowed(policies, prometheus, pod(NAMESPACES.spire, MESH_SCRAPE_TARGETS[0]!.selector), 8081)).toBe(false);
    // The east-west gateway's stats are Prometheus's only: not another namespace's, and not its istiod ports.
    const eastWest = pod(NAMESPACES.istio, EAST_WEST_SCRAPE_TARGET.selector);
    expect(allowed(policies, pod(NAMESPACES.runtime, { app: "escrow" }), eastWest, EAST_WEST_SCRAPE_TARGET.portNumber)).toBe(false);
    expect(allowed(policies, prometheus, eastWest, 15012)).toBe(false);
  });

  it("the east-west gateway's monitor selects the pods the pinned gateway chart labels, on the port its Deployment opens", () => {
    // templates/_helpers.tpl at 1.28.0: selectorLabels are `app` and `istio`, from `labels.app` / `labels.istio` when set.
    const helpers = chartTemplate("_helpers.tpl");
    const selectorLabels = /define "gateway.selectorLabels" -\}\}\n([\s\S]*?)\{\{- end \}\}/.exec(helpers)![1]!;
    const keys = [...selectorLabels.matchAll(/^(\w+): \{\{ \(\.Values\.labels\.(\w+) \| quote\)/gm)].map((m) => [m[1], m[2]]);
    expect(keys).toEqual([
      ["app", "app"],
      ["istio", "istio"],
    ]);
    // templates/deployment.yaml: the pod template carries selectorLabels, and the proxy container names 15090.
    const deployment = chartTemplate("deployment.yaml");
    const podLabels = deployment.slice(deployment.indexOf("  template:"), deployment.indexOf("    spec:"));
    expect(podLabels).toContain('include "gateway.selectorLabels" .');
    expect(deployment).toMatch(/- containerPort: (\d+)\n\s+protocol: TCP\n\s+name: http-envoy-prom/);
    expect(Number(/- containerPort: (\d+)\n\s+protocol: TCP\n\s+name: http-envoy-prom/.exec(deployment)![1])).toBe(EAST_WEST_SCRAPE_TARGET.portNumber);
    // So the pods' labels are the release's labels.app / labels.istio, which the monitor selects exactly.
    const values = eastWestGatewayValues(multiPrimaryMesh(spec)!, meshMember(spec, REGION)!, regionById(spec, REGION)) as { labels: Record<string, string> };
    const podSelector = Object.fromEntries(keys.map(([label, value]) => [label!, values.labels[value!]!]));
    const monitor = resources.find((r) => r.name === `${REGION}-${EAST_WEST_SCRAPE_TARGET.name}-monitor`)!;
    expect(monitor.inputs).toMatchObject({
      kind: "PodMonitor",
      metadata: { namespace: NAMESPACES.istio },
      spec: { selector: { matchLabels: podSelector }, podMetricsEndpoints: [{ port: "http-envoy-prom", path: "/stats/prometheus" }] },
    });
    expect((monitor.inputs["spec"] as { selector: { matchLabels: Obj } }).selector.matchLabels).toEqual(podSelector);
  });

  it("every target is a MeshMetricsDown job", () => {
    const down = prometheusRule(spec, regionById(spec, REGION)).spec as unknown as RuleFile;
    const rule = down.groups.flatMap((g) => g.rules).find((r) => "alert" in r && r.alert === "MeshMetricsDown") as unknown as { expr: string };
    expect(rule.expr).toBe(`up{job=~"${TARGETS.map(scrapeJob).join("|")}"} == 0`);
    expect(TARGETS.map(scrapeJob)).toEqual(["spire-system/spire-server", "spire-system/spire-agent", "istiod", "meridian-gateway/gateway-envoy", "istio-system/eastwest-gateway-envoy"]);
  });
});

describe("a single-region stack has no east-west gateway to monitor", () => {
  it("renders only the base targets, and MeshMetricsDown waits on no east-west job", async () => {
    const one = { ...spec, regions: [regionById(spec, REGION)] };
    expect(meshScrapeTargets(false)).toEqual(MESH_SCRAPE_TARGETS);
    const rule = (prometheusRule(one, regionById(spec, REGION)).spec as unknown as RuleFile).groups.flatMap((g) => g.rules).find((r) => "alert" in r && r.alert === "MeshMetricsDown") as unknown as {
      expr: string;
    };
    expect(rule.expr).toBe(`up{job=~"${MESH_SCRAPE_TARGETS.map(scrapeJob).join("|")}"} == 0`);
  });
});

describe("grandmaster monitoring (prod)", () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await evaluateStack("prod", { areas: ["time"] })).resources;
  }, 120_000);

  it("scrapes the sidecar's merged endpoint, not the mTLS-only admin port, and the pod names its /metrics for merging", () => {
    expect(NAMESPACE_POSTURE.time.injection).toBe(true);
    expect(resources.filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")).toEqual([]);
    expect(resources.filter((r) => r.name.endsWith("-grandmaster-monitor")).length).toBe(timeHierarchy(spec).filter((p) => p.grandmaster !== null).length);
    const monitor = resources.find((r) => r.name === `${REGION}-grandmaster-monitor`)!;
    expect(monitor.type).toBe("kubernetes:monitoring.coreos.com/v1:PodMonitor");
    new PodMonitor(monitor.inputs as never).validate();
    const spec_ = monitor.inputs["spec"] as { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Obj[] };
    expect(spec_.podMetricsEndpoints).toEqual([{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "15s" }]);
    const deployment = resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === `${REGION}-grandmaster`)!;
    const template = (
      deployment.inputs["spec"] as {
        template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { containers: { ports: { name: string; containerPort: number }[] }[] } };
      }
    ).template;
    expect(template.metadata.labels).toMatchObject(spec_.selector.matchLabels);
    const admin = template.spec.containers[0]!.ports.find((p) => p.name === "admin")!;
    expect(admin.containerPort).toBe(GRANDMASTER.adminPort);
    expect(template.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": String(admin.containerPort), "prometheus.io/path": "/metrics" });
    expect(spec_.podMetricsEndpoints.map((e) => e["portNumber"])).not.toContain(GRANDMASTER.adminPort);
    // Prometheus reaches the merged port; the admin port only from meshed namespaces (monitoring is not one).
    const policies = regionNetworkPolicies({ cloud: "aws", stores: {}, grandmaster: true });
    const gm = pod(NAMESPACES.time, template.metadata.labels);
    expect(allowed(policies, prometheus, gm, MERGED_METRICS.port)).toBe(true);
    expect(allowed(policies, prometheus, gm, GRANDMASTER.adminPort)).toBe(false);
  });
});

describe("mesh and grandmaster alerts, by promtool", () => {
  const pki = prometheusRule(spec, regionById(spec, REGION)).spec as unknown as RuleFile;
  const time = prometheusRuleSpec(spec.time, REGION) as unknown as RuleFile;

  it("`promtool check rules` accepts both rule files", () => {
    for (const file of [pki, time]) {
      const r = checkRules(file);
      expect(r.ok, r.output).toBe(true);
    }
  });

  it("each new alert fires on its failure and stays quiet when healthy", () => {
    const gm = timeAlertCases(spec).filter((c) => c.alert === "GrandmasterOffsetBoundHigh");
    expect(gm).toHaveLength(1);
    for (const [file, cases] of [
      [pki, meshAlertCases(spec)],
      [time, gm],
    ] as const) {
      const r = testRules(file, ruleTests(file, cases));
      expect(r.ok, r.output).toBe(true);
    }
  });

  it("the unit tests can fail: a CA with three SVID lifetimes left does not page, a wrong label is reported", () => {
    const ca = meshAlertCases(spec).find((c) => c.alert === "SpireServerCaExpiring")!;
    const longer = { ...ca, series: ca.healthy };
    expect(testRules(pki, ruleTests(pki, [longer])).ok).toBe(false);
    const rejects = meshAlertCases(spec).find((c) => c.alert === "IstiodXdsRejected")!;
    expect(testRules(pki, ruleTests(pki, [{ ...rejects, fires: [{ labels: { type: "cds" } }] }])).ok).toBe(false);
  });
});
