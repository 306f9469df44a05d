import { beforeAll, describe, expect, it } from "vitest";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { podSecurityViolations, type PodSpecLike } from "../../../model/security/pod-security.js";
import { healthAggregatorManifests } from "../../../components/workloads/gateway-manifests.js";
import { evaluateStack, ofType, type Plan, type RecordedResource } from "../../harness.js";
import { parseServiceConfig } from "../../../runtime/kit/config.js";
import { credentialsConfigSchema, replicationMonitorConfigSchema } from "../../../runtime/replication/index.js";
import { REPLICATION_MONITOR, REPLICATION_MONITOR_IDENTITY, REPLICATION_MONITOR_POD_SELECTOR, REPLICATION_MONITOR_PROBE } from "../../../model/workloads/gateway.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack, readStackConfigMap } from "../../../stacks/load.js";
import { checkRules, testRules } from "../pki/promtool.js";
import { ALERT_CASES, copyWriters, ruleTests, type RuleFile } from "../pki/rule-tests.js";
import { replicationLagRules } from "../../../components/replication/lag-rules.js";

const props = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const spec = buildEstateSpec("prod", loadStack("prod"));
const MAX_LAG_SECONDS = spec.replication.maxLagSeconds;
const REGION = "gcp-usc1";
const inRegion = (plan: Plan, type: string) => ofType(plan, type).filter((r) => r.name.startsWith(`${REGION}-replication-monitor`));

/** What the model says the region holds: its own partition if it is a writer, and every other writer's copy here. */
function held(regionId: string): { writes: string | null; copies: string[] } {
  return { writes: spec.replication.writers.includes(regionId) ? regionId : null, copies: copyWriters(spec, regionId) };
}

describe("the replication monitor per region (prod, replication area only)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await evaluateStack("prod", { areas: ["replication"] });
  }, 120_000);

  it("renders a monitor.json its own service accepts, naming each copy the region holds, with no password", () => {
    const [map] = inRegion(plan, "kubernetes:core/v1:ConfigMap");
    expect(new ConfigMap(props(map!)).validate()).toBeUndefined();
    const text = props(map!)["data"]["monitor.json"] as string;
    const { service, server } = parseServiceConfig(replicationMonitorConfigSchema, JSON.parse(text) as Record<string, unknown>, "monitor.json");
    const expected = held(REGION);
    expect(service.region).toBe(REGION);
    expect(service.writes?.writer ?? null).toBe(expected.writes);
    expect(service.copies.map((c) => c.writer).sort()).toEqual(expected.copies);
    expect(expected.copies.length).toBeGreaterThan(0);
    expect(service.maxLagSeconds).toBe(MAX_LAG_SECONDS);
    for (const db of [...service.copies, ...(service.writes ? [service.writes] : [])]) {
      expect(new URL(db.url).password).toBe("");
      expect(db.url).toMatch(/^postgres:\/\/[^@/]+:5432\/meridian\?sslmode=verify-(full|ca)&sslrootcert=\/etc\/meridian\/db-ca\/[a-z0-9.+-]+\.pem&uselibpqcompat=true$/);
      // Its own login on that copy (never the admin's), in the region's own cloud's secret manager (gcp-usc1: Secret Manager).
      expect(db.login).toMatch(/^gcp-secretmanager:\/\/projects\/[a-z0-9-]+\/secrets\/meridian-prod-[a-z0-9-]+-monitor$/);
      expect(db.passwordFile ?? db.userFile).toBeUndefined();
    }
    expect(text).not.toMatch(/password"\s*:/);
    expect({ host: server.host, port: server.port }).toEqual({ host: "0.0.0.0", port: REPLICATION_MONITOR.port });
  });

  it("its cloud identity reads only the monitor secret of each copy it monitors, never an admin secret", () => {
    const [map] = inRegion(plan, "kubernetes:core/v1:ConfigMap");
    const { service } = parseServiceConfig(replicationMonitorConfigSchema, JSON.parse(props(map!)["data"]["monitor.json"] as string) as Record<string, unknown>, "monitor.json");
    const secretIds = [...service.copies, ...(service.writes ? [service.writes] : [])].map((db) => db.login!.split("/").pop()!).sort();
    const account = ofType(plan, "gcp:serviceaccount/account:Account").find((a) => a.name === `${REGION}-${REPLICATION_MONITOR_IDENTITY.serviceAccount}`);
    expect(account, "no Google service account for the monitor").toBeDefined();
    const granted = ofType(plan, "gcp:secretmanager/secretIamMember:SecretIamMember")
      .filter((m) => m.name.startsWith(`${REGION}-${REPLICATION_MONITOR_IDENTITY.serviceAccount}-`))
      .map((m) => ({ secretId: props(m)["secretId"] as string, role: props(m)["role"] as string }));
    expect(granted.map((g) => g.secretId).sort()).toEqual(secretIds);
    expect(granted.every((g) => g.role === "roles/secretmanager.secretAccessor" && g.secretId.endsWith("-monitor"))).toBe(true);
  });

  it("each primary and subscriber gets a monitor-login Job that creates the monitor's role under the admin login (writes on primaries only)", () => {
    const jobs = ofType(plan, "kubernetes:batch/v1:Job").filter((j) => /^mon-/.test(props(j)["metadata"]["name"] as string));
    expect(jobs.length).toBeGreaterThan(0);
    const maps = ofType(plan, "kubernetes:core/v1:ConfigMap");
    let primaries = 0;
    for (const j of jobs) {
      const map = maps.find((m) => m.name === j.name)!;
      const config = credentialsConfigSchema.parse(JSON.parse(props(map)["data"]["credentials.json"] as string));
      expect(config.monitor!.admin).toMatch(/(-admin|\/master)$/);
      expect(config.monitor!.login).toMatch(/[-/]monitor$/);
      expect(config.logins.map((l) => l.secret)).toEqual([config.monitor!.login]);
      const [region, writer] = [j.name.slice(0, j.name.indexOf("-mon-")), (props(j)["metadata"]["name"] as string).slice("mon-".length)];
      expect(config.monitor!.writes).toBe(region === writer);
      if (config.monitor!.writes) primaries++;
    }
    expect(primaries).toBe(spec.replication.writers.length);
  });

  it("serves the Service the gateway's health aggregator probes", () => {
    const [svc] = inRegion(plan, "kubernetes:core/v1:Service");
    expect(new Service(props(svc!)).validate()).toBeUndefined();
    expect(props(svc!)["metadata"]).toMatchObject({ name: REPLICATION_MONITOR.name, namespace: REPLICATION_MONITOR.namespace });
    expect(props(svc!)["spec"]["ports"].map((p: { port: number }) => p.port)).toEqual([REPLICATION_MONITOR.port]);
    const url = new URL(REPLICATION_MONITOR_PROBE.url);
    expect(url.hostname).toBe(`${props(svc!)["metadata"]["name"]}.${props(svc!)["metadata"]["namespace"]}.svc.cluster.local`);
  });

  it("runs the monitor restricted, with no Kubernetes Secret (it reads its logins from the secret manager) and readiness on /healthz", () => {
    const [dep] = inRegion(plan, "kubernetes:apps/v1:Deployment");
    const [sa] = inRegion(plan, "kubernetes:core/v1:ServiceAccount");
    expect(new Deployment(props(dep!)).validate()).toBeUndefined();
    expect(new ServiceAccount(props(sa!)).validate()).toBeUndefined();
    const pod = props(dep!)["spec"]["template"]["spec"];
    const c = pod.containers[0];
    expect(c.args).toEqual(["replication", "monitor", "--config", "/etc/meridian/replication-monitor/monitor.json"]);
    expect(c.image).toBe(spec.runtime.image);
    expect(c.readinessProbe.httpGet).toEqual({ path: "/healthz", port: REPLICATION_MONITOR.port });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.volumes.filter((v: { secret?: unknown }) => v.secret)).toEqual([]);
    // The identity SPIRE grants and the mesh's AuthorizationPolicy names, on the pods the NetworkPolicies select.
    expect(pod.serviceAccountName).toBe(props(sa!)["metadata"]["name"]);
    expect(pod.serviceAccountName).toBe(REPLICATION_MONITOR_IDENTITY.serviceAccount);
    expect(props(dep!)["spec"]["template"]["metadata"]["labels"]).toMatchObject({ ...REPLICATION_MONITOR_POD_SELECTOR, "app.kubernetes.io/component": "replication-monitor" });
  });

  it("keeps one monitor serving through a voluntary disruption: a PodDisruptionBudget over its pods", () => {
    const [dep] = inRegion(plan, "kubernetes:apps/v1:Deployment");
    const [pdb] = inRegion(plan, "kubernetes:policy/v1:PodDisruptionBudget");
    expect(pdb, "no PodDisruptionBudget for the monitor").toBeDefined();
    expect(new PodDisruptionBudget(props(pdb!)).validate()).toBeUndefined();
    expect(props(pdb!)["metadata"]).toMatchObject({ namespace: REPLICATION_MONITOR.namespace });
    expect(props(pdb!)["spec"]["selector"]["matchLabels"]).toEqual(REPLICATION_MONITOR_POD_SELECTOR);
    // It can only protect anything if it leaves at least one of the replicas running.
    const replicas = props(dep!)["spec"]["replicas"] as number;
    expect(replicas - (props(pdb!)["spec"]["maxUnavailable"] as number)).toBeGreaterThanOrEqual(1);
  });

  it("shares the health aggregator's kit-service pod template: same pod and container security, probes, mounts, rollout", () => {
    const [dep] = inRegion(plan, "kubernetes:apps/v1:Deployment");
    const mon = props(dep!)["spec"];
    const agg = healthAggregatorManifests(spec, REGION).deployment.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(mon.strategy).toEqual(agg.strategy);
    expect(mon.replicas).toBe(agg.replicas);
    expect(mon.template.spec.securityContext).toEqual(agg.template.spec.securityContext);
    const [m, a] = [mon.template.spec.containers[0], agg.template.spec.containers[0]];
    expect(m.securityContext).toEqual(a.securityContext);
    expect(m.livenessProbe).toEqual(a.livenessProbe);
    expect(Object.keys(mon.template.metadata.annotations).sort()).toEqual(Object.keys(agg.template.metadata.annotations).sort());
    // Pod Security `restricted`, as the runtime namespace enforces.
    expect(podSecurityViolations("restricted", mon.template.spec as PodSpecLike)).toEqual([]);
  });

  it("deploys one monitor in every region that holds a copy, each in its own cluster", () => {
    const deps = ofType(plan, "kubernetes:apps/v1:Deployment").filter((d) => props(d)["metadata"]["name"] === REPLICATION_MONITOR.name);
    expect(deps.map((d) => d.name).sort()).toEqual(spec.regions.map((r) => `${r.id}-replication-monitor`).sort());
    for (const d of deps) expect(d.provider).toContain(`::${d.name.replace(/-replication-monitor$/, "")}-k8s::`);
  });

  it("scrapes the sidecar's merged metrics and alerts on the monitor's own bound", () => {
    const [pm] = inRegion(plan, "kubernetes:monitoring.coreos.com/v1:PodMonitor");
    expect(props(pm!)["spec"]["podMetricsEndpoints"]).toEqual([{ portNumber: 15020, path: "/stats/prometheus", interval: "30s" }]);
    const [rule] = inRegion(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    const file = props(rule!)["spec"] as RuleFile;
    expect(checkRules(file)).toMatchObject({ ok: true });
    const result = testRules(file, ruleTests(file, ALERT_CASES["replication-lag"]!(spec, file)));
    expect(result.ok, result.output).toBe(true);
  });
});

describe("the lag bound is a stack setting (meridian:replication.maxLagSeconds)", () => {
  it("reaches the monitor's config and the alert's threshold", async () => {
    const plan = await evaluateStack("prod", {
      areas: ["replication"],
      configOverrides: { "meridian:replication": { ...(readStackConfigMap("prod")["meridian:replication"] as object), maxLagSeconds: 45 } },
    });
    const [map] = inRegion(plan, "kubernetes:core/v1:ConfigMap");
    const raw = JSON.parse(props(map!)["data"]["monitor.json"] as string) as Record<string, unknown>;
    expect(parseServiceConfig(replicationMonitorConfigSchema, raw, "monitor.json").service.maxLagSeconds).toBe(45);
    const [rule] = inRegion(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    expect(JSON.stringify(props(rule!)["spec"])).toContain("max by (writer) (meridian_replication_lag_seconds) > 45");
  }, 120_000);
});

describe("replication lag rules, by promtool", () => {
  const file = replicationLagRules(REGION, held(REGION).copies, MAX_LAG_SECONDS) as RuleFile;
  const cases = ALERT_CASES["replication-lag"]!(spec, file);

  it("fires on lag beyond the bound and on a silent copy, and stays quiet when healthy", () => {
    expect(cases.map((c) => c.alert).sort()).toEqual(["ReplicationLagAbsent", "ReplicationLagHigh"]);
    expect(testRules(file, ruleTests(file, cases))).toMatchObject({ ok: true });
  });

  it("can fail: a looser threshold no longer fires on the case's lag", () => {
    const loose = replicationLagRules(REGION, held(REGION).copies, MAX_LAG_SECONDS * 10) as RuleFile;
    expect(
      testRules(
        loose,
        ruleTests(
          loose,
          cases.filter((c) => c.alert === "ReplicationLagHigh"),
        ),
      ).ok,
    ).toBe(false);
  });
});
