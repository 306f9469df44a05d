/**
 * linuxptp where the estate has a datacenter PTP network: ptp4l (ordinary clock, slave only) and
 * phc2sys (PHC → chrony's SHM refclock) from a ConfigMap, on the host network, PID and IPC namespaces as
 * PTP and the SHM segment require. Debian's linuxptp, from the runtime image (pinned by digest), as root:
 * Kubernetes grants added capabilities to root only. Hardware timestamping opens the NIC's PHC (/dev/ptpN),
 * a host character device only a privileged container may use; software timestamping needs no device, so
 * ptp4l gets only raw sockets (L2), the event/general ports (319/320) and CAP_SYS_TIME to steer the clock,
 * and phc2sys (chrony's SHM segment and ptp4l's socket, both root's) no capability at all.
 */
import * as k8s from "@pulumi/kubernetes";
import type { PtpNetworkConfig } from "../../model/config/time.js";
import { phc2sysArgs, ptp4lArgs, renderPtp4lConf } from "../../model/time/ptp.js";
import { labels, opts, type RegionScope } from "./labels.js";

function securityContext(network: PtpNetworkConfig, add: string[]) {
  if (network.timestamping === "hardware") return { privileged: true, runAsUser: 0, runAsNonRoot: false };
  return {
    runAsUser: 0,
    runAsNonRoot: false,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { add, drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function linuxptpDaemonSet(scope: RegionScope, network: PtpNetworkConfig, runtimeImage: string): { configMap: k8s.core.v1.ConfigMap; daemonSet: k8s.apps.v1.DaemonSet } {
  const app = "linuxptp";
  const meta = labels(scope, app);
  const configMap = new k8s.core.v1.ConfigMap(
    `${scope.region}-linuxptp-conf`,
    { metadata: { name: "linuxptp-conf", namespace: scope.namespace, labels: meta }, data: { "ptp4l.conf": renderPtp4lConf(network) } },
    opts(scope),
  );
  const common = {
    image: runtimeImage,
    volumeMounts: [
      { name: "config", mountPath: "/etc/linuxptp", readOnly: true },
      { name: "ptp4l-socket", mountPath: "/var/run" },
    ],
    resources: { requests: { cpu: "20m", memory: "16Mi" }, limits: { memory: "64Mi" } },
  };
  const daemonSet = new k8s.apps.v1.DaemonSet(
    `${scope.region}-linuxptp`,
    {
      metadata: { name: app, namespace: scope.namespace, labels: meta },
      spec: {
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: meta },
          spec: {
            hostNetwork: true,
            hostPID: true,
            hostIPC: true,
            priorityClassName: "system-node-critical",
            tolerations: [{ operator: "Exists" }],
            containers: [
              { name: "ptp4l", command: ["/usr/sbin/ptp4l", ...ptp4lArgs(network)], securityContext: securityContext(network, ["NET_RAW", "NET_BIND_SERVICE", "SYS_TIME"]), ...common },
              { name: "phc2sys", command: ["/usr/sbin/phc2sys", ...phc2sysArgs(network)], securityContext: securityContext(network, []), ...common },
            ],
            volumes: [
              { name: "config", configMap: { name: configMap.metadata.name } },
              // ptp4l's UDS (/var/run/ptp4l) that phc2sys -a talks to.
              { name: "ptp4l-socket", emptyDir: {} },
            ],
          },
        },
      },
    },
    opts(scope),
  );
  return { configMap, daemonSet };
}
