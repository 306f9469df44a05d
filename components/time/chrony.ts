/**
 * chrony on every node: a ConfigMap holding the region's rendered chrony.conf and a DaemonSet running
 * chronyd in the foreground on the host network with CAP_SYS_TIME, so it disciplines the node clock
 * every pod reads. chronyd is Debian's, from the runtime image (pinned by digest like every Meridian pod), not a
 * third-party image. It resolves the in-cluster grandmaster (ClusterFirstWithHostNet), mounts the PHC
 * devices its refclocks read (which needs privileged), and shares the host IPC namespace when phc2sys feeds
 * it over SHM.
 *
 * Beside chronyd runs the node time agent (`meridian time agent`, runtime/clock/agent.ts): on the host network
 * 127.0.0.1:323 is chronyd's command port, which no pod can reach, so the agent reads `chronyc -c tracking` there
 * and serves it on the node's address — the role of AWS ClockBound's daemon and its shared-memory segment — with
 * chrony's tracking as Prometheus series on its /metrics (what chrony_exporter served before). Pods
 * reach the agent on their own node through the `time-agent` Service with internalTrafficPolicy: Local (honoured by
 * kube-proxy, and by Istio sidecars since 1.17), and measure their clocks with its ClockBound-style bound.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import { CHRONY_CONF_PATH, renderChronyConf } from "../../model/time/chrony.js";
import { TIME_AGENT, type RegionTimePlan } from "../../model/time/hierarchy.js";
import { labels, opts, type RegionScope } from "./labels.js";

/** The node time agent's container (pure, so tests read what the DaemonSet runs). */
function timeAgentContainer(runtimeImage: string) {
  return {
    name: TIME_AGENT.name,
    image: runtimeImage,
    command: ["node", "bin/meridian.mjs"],
    // Bound to the node's address only (the pod shares the host network), where the node-local Service sends pods.
    args: ["time", "agent", "--chrony", "127.0.0.1:323", "--host", "$(NODE_IP)", "--port", String(TIME_AGENT.port)],
    env: [{ name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }],
    ports: [{ name: "agent", containerPort: TIME_AGENT.port, protocol: "TCP" }],
    // Ready once chrony's tracking has been read; live while it serves.
    readinessProbe: { httpGet: { path: "/readyz", port: "agent" }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: "/healthz", port: "agent" }, periodSeconds: 20, failureThreshold: 3 },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } },
    volumeMounts: [{ name: "agent-tmp", mountPath: "/tmp" }],
  };
}

/**
 * chronyd runs as root (the runtime image's user is `node`): Kubernetes grants added capabilities to root only.
 * Only CAP_SYS_TIME, on a read-only root filesystem, unless refclocks read PHC devices: a hostPath character
 * device is usable only by a privileged container.
 */
function chronydSecurityContext(phcDevices: boolean) {
  if (phcDevices) return { privileged: true, runAsUser: 0, runAsNonRoot: false };
  return {
    runAsUser: 0,
    runAsNonRoot: false,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { add: ["SYS_TIME"], drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function chronyDaemonSet(
  scope: RegionScope,
  plan: RegionTimePlan,
  runtimeImage: string,
): { configMap: k8s.core.v1.ConfigMap; daemonSet: k8s.apps.v1.DaemonSet; agentService: k8s.core.v1.Service } {
  const app = "chrony";
  const meta = labels(scope, app);
  const conf = renderChronyConf(plan);
  const configMap = new k8s.core.v1.ConfigMap(
    `${scope.region}-chrony-conf`,
    { metadata: { name: "chrony-conf", namespace: scope.namespace, labels: meta }, data: { "chrony.conf": conf } },
    opts(scope),
  );
  const devices = plan.devices.map((path, i) => ({ name: `phc-${i}`, path }));
  const daemonSet = new k8s.apps.v1.DaemonSet(
    `${scope.region}-chrony`,
    {
      metadata: { name: app, namespace: scope.namespace, labels: meta },
      spec: {
        selector: { matchLabels: { app } },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "10%" } },
        template: {
          // A new chrony.conf rolls the pods: chronyd reads its config only at start.
          metadata: { labels: meta, annotations: { "meridian.dev/chrony-conf-sha256": createHash("sha256").update(conf).digest("hex") } },
          spec: {
            hostNetwork: true,
            hostIPC: plan.ptpNetwork !== null,
            dnsPolicy: "ClusterFirstWithHostNet",
            priorityClassName: "system-node-critical",
            tolerations: [{ operator: "Exists" }],
            containers: [
              {
                name: "chronyd",
                image: runtimeImage,
                // `-u root`: no switch to Debian's _chrony user, which would need SETUID, SETGID and CHOWN besides SYS_TIME.
                command: ["/usr/sbin/chronyd", "-d", "-u", "root", "-f", CHRONY_CONF_PATH],
                securityContext: chronydSecurityContext(devices.length > 0),
                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
                volumeMounts: [
                  { name: "config", mountPath: "/etc/chrony", readOnly: true },
                  { name: "state", mountPath: "/var/lib/chrony" },
                  { name: "run", mountPath: "/run/chrony" },
                  ...devices.map((d) => ({ name: d.name, mountPath: d.path })),
                ],
              },
              timeAgentContainer(runtimeImage),
            ],
            volumes: [
              { name: "config", configMap: { name: configMap.metadata.name } },
              { name: "state", hostPath: { path: "/var/lib/meridian/chrony", type: "DirectoryOrCreate" } },
              { name: "run", emptyDir: {} },
              { name: "agent-tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
              ...devices.map((d) => ({ name: d.name, hostPath: { path: d.path, type: "CharDevice" } })),
            ],
          },
        },
      },
    },
    opts(scope),
  );
  // Node-local: a pod's request reaches the agent on its own node, whose chrony disciplines the clock it reads.
  const agentService = new k8s.core.v1.Service(
    `${scope.region}-time-agent`,
    {
      metadata: { name: TIME_AGENT.name, namespace: scope.namespace, labels: labels(scope, TIME_AGENT.name) },
      spec: {
        selector: { app },
        internalTrafficPolicy: "Local",
        ports: [{ name: "http-agent", port: TIME_AGENT.port, targetPort: "agent", protocol: "TCP", appProtocol: "http" }],
      },
    },
    opts(scope),
  );
  return { configMap, daemonSet, agentService };
}
