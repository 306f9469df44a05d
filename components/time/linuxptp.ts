/**
 * linuxptp where the estate has a datacenter PTP network: ptp4l (ordinary clock, slave only) and
 * phc2sys (PHC → chrony's SHM refclock) from a ConfigMap, privileged on the host network, PID and IPC
 * namespaces as PTP hardware timestamping and the SHM segment require.
 */
import * as k8s from "@pulumi/kubernetes";
import type { PtpNetworkConfig } from "../../model/config/time.js";
import { phc2sysArgs, ptp4lArgs, renderPtp4lConf } from "../../model/time/ptp.js";
import type { TimeConfig } from "../../model/estate.js";
import { labels, opts, type RegionScope } from "./labels.js";

export function linuxptpDaemonSet(scope: RegionScope, network: PtpNetworkConfig, time: TimeConfig): { configMap: k8s.core.v1.ConfigMap; daemonSet: k8s.apps.v1.DaemonSet } {
  const app = "linuxptp";
  const meta = labels(scope, app);
  const configMap = new k8s.core.v1.ConfigMap(
    `${scope.region}-linuxptp-conf`,
    { metadata: { name: "linuxptp-conf", namespace: scope.namespace, labels: meta }, data: { "ptp4l.conf": renderPtp4lConf(network) } },
    opts(scope),
  );
  const common = {
    image: time.images.linuxptp,
    securityContext: { privileged: true },
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
              { name: "ptp4l", command: ["/usr/sbin/ptp4l", ...ptp4lArgs(network)], ...common },
              { name: "phc2sys", command: ["/usr/sbin/phc2sys", ...phc2sysArgs(network)], ...common },
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
