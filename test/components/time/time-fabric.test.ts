// The time area under the mock runtime: per region a chrony ConfigMap + DaemonSet rendered from the
// hierarchy, linuxptp only with a PTP network, the grandmaster Deployment + Service (a relay in cloud regions,
// the simulator in local), and clock-health
// monitoring — custom resources validated against prometheus-operator's CRD schemas, workloads against
// the Kubernetes API schemas.
import { PodMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { DaemonSet, Deployment } from "kubernetes-models/apps/v1";
import { Service } from "kubernetes-models/v1";
import { beforeAll, describe, expect, it } from "vitest";
import { renderChronyConf } from "../../../model/time/chrony.js";
import { timeHierarchy } from "../../../model/time/hierarchy.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { parseServiceConfig } from "../../../runtime/kit/config.js";
import { relayConfigSchema, timeAgentConfigSchema } from "../../../runtime/clock/index.js";
import { loadStack } from "../../../stacks/load.js";
import { byName, evaluateStack, ofType, type Plan, sharedPlan, under } from "../../harness.js";

type Obj = Record<string, unknown>;
const inputs = (r: { inputs: Obj }) => r.inputs as { metadata: Obj; spec: Obj; data?: Record<string, string> };

describe("time area (prod)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await sharedPlan("prod");
  }, 240_000);

  it("creates one TimeFabric per region with chrony, the grandmaster and monitoring in the time namespace", () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    const fabrics = ofType(plan, "meridian:time:TimeFabric");
    expect(fabrics.map((f) => f.name).sort()).toEqual(spec.regions.map((r) => `${r.id}-time`).sort());
    for (const region of spec.regions) {
      const types = under(plan, "meridian:time:TimeFabric", `${region.id}-time`)
        .map((r) => r.type)
        .sort();
      expect(types).toEqual(
        [
          "kubernetes:apps/v1:DaemonSet",
          "kubernetes:apps/v1:Deployment",
          "kubernetes:core/v1:ConfigMap",
          // The grandmaster's config (its kit `server` section: identity from its sidecar's XFCC) and service account.
          "kubernetes:core/v1:ConfigMap",
          "kubernetes:core/v1:ServiceAccount",
          "kubernetes:core/v1:Service",
          // The node time agent's node-local Service.
          "kubernetes:core/v1:Service",
          // chrony's, and the grandmaster's on its sidecar's merged-metrics port (its admin port is mTLS-only).
          "kubernetes:monitoring.coreos.com/v1:PodMonitor",
          "kubernetes:monitoring.coreos.com/v1:PodMonitor",
          "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
          "kubernetes:policy/v1:PodDisruptionBudget",
        ].sort(),
      );
      for (const r of under(plan, "meridian:time:TimeFabric", `${region.id}-time`)) {
        expect(inputs(r).metadata["namespace"]).toBe("meridian-time");
        expect(r.provider).toMatch(new RegExp(`${region.id}-k8s`));
      }
    }
  });

  it("each region's ConfigMap holds exactly the chrony.conf the model renders, and the DaemonSet mounts its PHCs", () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    for (const p of timeHierarchy(spec)) {
      const cm = inputs(byName(plan, "kubernetes:core/v1:ConfigMap", `${p.region}-chrony-conf`));
      expect(cm.data!["chrony.conf"]).toBe(renderChronyConf(p));
      const ds = inputs(byName(plan, "kubernetes:apps/v1:DaemonSet", `${p.region}-chrony`));
      new DaemonSet({ apiVersion: "apps/v1", kind: "DaemonSet", ...(ds as object) } as never).validate();
      const pod = (ds.spec["template"] as Obj)["spec"] as Obj as { hostNetwork: boolean; dnsPolicy: string; containers: Obj[]; volumes: Obj[] };
      expect(pod.hostNetwork).toBe(true);
      expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
      const hostPaths = pod.volumes.map((v) => (v["hostPath"] as Obj | undefined)?.["path"]).filter(Boolean);
      for (const device of p.devices) expect(hostPaths).toContain(device);
      // Every container is the runtime image, pinned by its digest: Debian's chronyd, no third-party image or exporter.
      expect(pod.containers.map((c) => [c["name"], c["image"]])).toEqual([
        ["chronyd", spec.runtime.image],
        ["time-agent", spec.runtime.image],
      ]);
      const chronyd = pod.containers[0]!;
      expect(chronyd["command"]).toEqual(["/usr/sbin/chronyd", "-d", "-u", "root", "-f", "/etc/chrony/chrony.conf"]);
      expect(chronyd["securityContext"]).toEqual(
        p.devices.length > 0
          ? { privileged: true, runAsUser: 0, runAsNonRoot: false }
          : expect.objectContaining({ runAsUser: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { add: ["SYS_TIME"], drop: ["ALL"] } }),
      );
    }
    const azure = timeHierarchy(spec).find((p) => p.cloud === "azure")!;
    expect(azure.devices).toEqual(["/dev/ptp_hyperv"]);
  });

  it("the node time agent runs beside chronyd on the host network, serves chrony's tracking on the node's address, and every service is measured through its node-local Service", async () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    for (const region of spec.regions) {
      const ds = inputs(byName(plan, "kubernetes:apps/v1:DaemonSet", `${region.id}-chrony`));
      const pod = (ds.spec["template"] as Obj)["spec"] as { hostNetwork: boolean; containers: Obj[]; volumes: Obj[] };
      const agent = pod.containers.find((c) => c["name"] === "time-agent")!;
      expect(pod.hostNetwork).toBe(true); // so 127.0.0.1:323 is chronyd's command port, which chronyd answers only there
      expect(agent["image"]).toBe(spec.runtime.image);
      expect(agent["args"]).toEqual(["time", "agent", "--chrony", "127.0.0.1:323", "--host", "$(NODE_IP)", "--port", "10125"]);
      expect(agent["env"]).toEqual([{ name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }]);
      expect(agent["readinessProbe"]).toMatchObject({ httpGet: { path: "/readyz", port: "agent" } });
      expect(agent["securityContext"]).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
      // The agent's schema accepts the chronyd address the args give.
      const { service } = parseServiceConfig(timeAgentConfigSchema, { chrony: "127.0.0.1:323" }, "time agent");
      expect(service.chrony).toEqual({ host: "127.0.0.1", port: 323 });
      const svc = inputs(byName(plan, "kubernetes:core/v1:Service", `${region.id}-time-agent`));
      new Service({ apiVersion: "v1", kind: "Service", ...(svc as object) } as never).validate();
      expect(svc.metadata).toMatchObject({ name: "time-agent", namespace: "meridian-time" });
      // Node-local: a pod reads the chrony that disciplines its own node's clock, never another node's.
      expect(svc.spec).toMatchObject({ selector: { app: "chrony" }, internalTrafficPolicy: "Local", ports: [{ name: "http-agent", port: 10125, targetPort: "agent", protocol: "TCP" }] });
    }
    // Every runtime service's rendered config measures its clock through that Service (the clock service under `agent`).
    const configs = ofType(plan, "kubernetes:core/v1:ConfigMap").filter((c) => (inputs(c).metadata["namespace"] as string) === "meridian");
    const references = configs.flatMap((c) =>
      Object.entries(inputs(c).data ?? {})
        .filter(([file]) => file.endsWith(".json"))
        .map(([file, text]) => {
          const cfg = JSON.parse(text) as { timeReference?: unknown; agent?: unknown };
          return [file, cfg.timeReference ?? (cfg.agent === undefined ? undefined : { agent: cfg.agent })];
        }),
    );
    const byFile = Object.fromEntries(references);
    for (const file of ["escrow.json", "ratelimit.json", "prooflog.json", "quota.json", "clock.json"])
      expect(byFile[file], file).toEqual({ agent: "time-agent.meridian-time.svc.cluster.local:10125" });
  });

  it("every cloud region's grandmaster Deployment runs `meridian time relay` over the region's references (three or more), behind UDP 123, never the simulator", () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    for (const p of timeHierarchy(spec)) {
      const dep = inputs(byName(plan, "kubernetes:apps/v1:Deployment", `${p.region}-grandmaster`));
      new Deployment({ apiVersion: "apps/v1", kind: "Deployment", ...(dep as object) } as never).validate();
      const container = (((dep.spec["template"] as Obj)["spec"] as Obj)["containers"] as Obj[])[0]!;
      expect(container["args"], p.region).toEqual(["time", "relay", "--config", "/etc/meridian/grandmaster/grandmaster.json", "--port", "10123", "--host", "0.0.0.0", "--http-port", "10124"]);
      // The rendered --config passes the relay's own schema (the kit's `server` section and the service's keys).
      const text = (inputs(byName(plan, "kubernetes:core/v1:ConfigMap", `${p.region}-grandmaster-config`)) as unknown as { data: Record<string, string> }).data["grandmaster.json"]!;
      const { server, service } = parseServiceConfig(relayConfigSchema, JSON.parse(text) as Record<string, unknown>, "grandmaster.json");
      expect(server.identity).toEqual({ xfcc: "istio-sidecar", spiffeId: "spiffe://prod.meridian.internal/ns/meridian-time/sa/grandmaster" });
      expect(service.references.length, p.region).toBeGreaterThanOrEqual(3);
      expect(service.references.map((r) => `${r.server.host}:${r.server.port}`)).toEqual(p.grandmaster!.references.map((r) => r.server));
      expect(service.references.map((r) => r.server.host)).toEqual(expect.arrayContaining(["nts.netnod.se", "ptbtime1.ptb.de", "nts.time.nl"]));
      // Out of the Service without a majority (and it answers stratum 16 meanwhile); restarted only when it stops serving.
      expect(container["readinessProbe"]).toMatchObject({ httpGet: { path: "/readyz", port: "admin" } });
      expect(container["livenessProbe"]).toMatchObject({ httpGet: { path: "/healthz", port: "admin" } });
      // chrony follows the relay in addition to the same independent upstreams, never instead of them.
      const conf = inputs(byName(plan, "kubernetes:core/v1:ConfigMap", `${p.region}-chrony-conf`)).data!["chrony.conf"]!;
      for (const r of service.references) expect(conf).toContain(`server ${r.server.host} iburst`);
      expect(conf).toContain("server grandmaster.meridian-time.svc.cluster.local iburst");
      expect(dep.spec["replicas"]).toBe(2);
    }
    const all = ofType(plan, "kubernetes:apps/v1:Deployment").flatMap((d) => (((d.inputs as Obj)["spec"] as Obj)["template"] as { spec: { containers: { args?: string[] }[] } }).spec.containers);
    expect(all.filter((c) => c.args?.[0] === "time" && c.args[1] === "grandmaster")).toEqual([]);
    // It runs as its own service account (SPIFFE ID spiffe://<td>/ns/meridian-time/sa/grandmaster), which its config names.
    const dep = inputs(byName(plan, "kubernetes:apps/v1:Deployment", "aws-use1-grandmaster"));
    expect((dep.spec["template"] as Obj)["spec"]).toMatchObject({ serviceAccountName: "grandmaster" });
    const svc = inputs(byName(plan, "kubernetes:core/v1:Service", "aws-use1-grandmaster"));
    new Service({ apiVersion: "v1", kind: "Service", ...(svc as object) } as never).validate();
    expect(svc.spec["ports"]).toContainEqual({ name: "ntp", port: 123, targetPort: "ntp", protocol: "UDP" });
  });

  it("PrometheusRule and PodMonitors validate against the prometheus-operator CRDs; thresholds follow max offset", () => {
    for (const r of ofType(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")) new PrometheusRule(r.inputs as never).validate();
    for (const r of ofType(plan, "kubernetes:monitoring.coreos.com/v1:PodMonitor")) new PodMonitor(r.inputs as never).validate();
    // chrony's series are scraped from the node time agent's /metrics, on a port its container declares.
    const monitor = inputs(byName(plan, "kubernetes:monitoring.coreos.com/v1:PodMonitor", "aws-use1-chrony-monitor"));
    expect(monitor.spec["podMetricsEndpoints"]).toEqual([{ port: "agent", path: "/metrics", interval: "30s" }]);
    const ds = inputs(byName(plan, "kubernetes:apps/v1:DaemonSet", "aws-use1-chrony"));
    const ports = (((ds.spec["template"] as Obj)["spec"] as Obj)["containers"] as { ports?: { name: string }[] }[]).flatMap((c) => c.ports ?? []).map((x) => x.name);
    expect(ports).toEqual(["agent"]);
    const rule = inputs(byName(plan, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "aws-use1-clock-health"));
    const rules = ((rule.spec["groups"] as Obj[])[0]!["rules"] as Obj[]).map((r) => [r["alert"], r["expr"]]);
    // prod: max offset 250 ms → degrade at 125 ms, freeze at 200 ms.
    expect(Object.fromEntries(rules)).toMatchObject({
      ClockOffsetHigh: "abs(chrony_tracking_last_offset_seconds) > 0.125",
      ClockOffsetCritical: "abs(chrony_tracking_last_offset_seconds) > 0.2",
      TimeSourceFalseticker: "max(meridian_time_falsetickers) > 0",
      GrandmasterHoldover: "max(meridian_time_holdover) == 1",
    });
  });

  it("no linuxptp without a PTP network", () => {
    expect(ofType(plan, "kubernetes:apps/v1:DaemonSet").filter((d) => d.name.endsWith("-linuxptp"))).toEqual([]);
  });
});

describe("time area variants", () => {
  it("a PTP network adds a linuxptp DaemonSet from the runtime image (software timestamping: capabilities, not privileged) and shares host IPC with chrony", async () => {
    const plan = await evaluateStack("local", { areas: ["time"], configOverrides: { "meridian:time": { ptp: { network: { interface: "eth1", timestamping: "software" } } } } });
    const ds = inputs(byName(plan, "kubernetes:apps/v1:DaemonSet", "local-aws-linuxptp"));
    new DaemonSet({ apiVersion: "apps/v1", kind: "DaemonSet", ...(ds as object) } as never).validate();
    const pod = (ds.spec["template"] as Obj)["spec"] as {
      hostNetwork: boolean;
      hostIPC: boolean;
      hostPID: boolean;
      containers: { name: string; command: string[]; image: string; securityContext: Obj }[];
    };
    expect([pod.hostNetwork, pod.hostIPC, pod.hostPID]).toEqual([true, true, true]);
    const runtimeImage = buildEstateSpec("local", loadStack("local")).runtime.image;
    expect(pod.containers.map((c) => c.image)).toEqual([runtimeImage, runtimeImage]);
    // Software timestamping opens no PHC: capabilities, not privileged.
    expect(pod.containers.map((c) => [c.securityContext["privileged"], (c.securityContext["capabilities"] as Obj)["add"]])).toEqual([
      [undefined, ["NET_RAW", "NET_BIND_SERVICE", "SYS_TIME"]],
      [undefined, []],
    ]);
    expect(pod.containers.map((c) => c.command.slice(0, 7))).toEqual([
      ["/usr/sbin/ptp4l", "-f", "/etc/linuxptp/ptp4l.conf", "-i", "eth1", "-s", "-2"],
      ["/usr/sbin/phc2sys", "-a", "-r", "-E", "ntpshm", "-M", "0"],
    ]);
    const chrony = inputs(byName(plan, "kubernetes:apps/v1:DaemonSet", "local-aws-chrony"));
    expect(((chrony.spec["template"] as Obj)["spec"] as Obj)["hostIPC"]).toBe(true);
    expect(inputs(byName(plan, "kubernetes:core/v1:ConfigMap", "local-aws-chrony-conf")).data!["chrony.conf"]).toContain("refclock SHM 0 refid PTP");
  });

  it("local keeps the simulated grandmaster: `meridian time grandmaster` with its source, config without references", async () => {
    const plan = await evaluateStack("local", { areas: ["time"] });
    const dep = inputs(byName(plan, "kubernetes:apps/v1:Deployment", "local-aws-grandmaster"));
    const container = (((dep.spec["template"] as Obj)["spec"] as Obj)["containers"] as Obj[])[0]!;
    expect(container["args"]).toEqual([
      "time",
      "grandmaster",
      "--config",
      "/etc/meridian/grandmaster/grandmaster.json",
      "--port",
      "10123",
      "--host",
      "0.0.0.0",
      "--http-port",
      "10124",
      "--source",
      "gps",
    ]);
    const cfg = JSON.parse((inputs(byName(plan, "kubernetes:core/v1:ConfigMap", "local-aws-grandmaster-config")) as unknown as { data: Record<string, string> }).data["grandmaster.json"]!) as Obj;
    expect(cfg).toEqual({
      server: {
        identity: { xfcc: "istio-sidecar", spiffeId: expect.stringMatching(/\/ns\/meridian-time\/sa\/grandmaster$/) as unknown },
        auth: { operators: { spiffe: [expect.stringMatching(/\/sa\/meridian-operator$/) as unknown] } },
      },
    });
  });

  it("without a grandmaster there is no Deployment, Service or grandmaster monitor, and chrony uses the smeared cloud source", async () => {
    const plan = await evaluateStack("dev", { configOverrides: { "meridian:time": { leapSmear: true, grandmaster: { enabled: false } } } });
    // The time area's own Deployments (the runtime's clock service is the workloads area's).
    expect(ofType(plan, "kubernetes:apps/v1:Deployment").filter((r) => (r.inputs as { metadata: { namespace?: string } }).metadata.namespace === "meridian-time")).toEqual([]);
    expect(ofType(plan, "kubernetes:monitoring.coreos.com/v1:PodMonitor").filter((r) => r.name.endsWith("-grandmaster-monitor"))).toEqual([]);
    expect(inputs(byName(plan, "kubernetes:core/v1:ConfigMap", "gcp-usc1-chrony-conf")).data!["chrony.conf"]).toContain("server metadata.google.internal iburst");
  });
});
