/**
 * The TPM device plugin SPIRE's agent quotes through when admission requires attestation (spire-attest.ts).
 * A container opens a host device only if its device cgroup allows it; the kubelet adds that rule for a device a
 * device plugin allocated to the container (DeviceSpec: host path, container path, permissions). A hostPath mount
 * of /dev/tpmrm0 makes the node visible but `open` fails with EPERM in an unprivileged container, and a privileged
 * agent would hold every device on the node. So each node runs squat/generic-device-plugin advertising its
 * /dev/tpmrm0 as the extended resource `squat.ai/tpmrm` (count 1: only one container per node, SPIRE's agent, can
 * hold the TPM), and the agent requests one in `resources.limits`. A node without a TPM advertises none, so its
 * agent stays Pending and nothing on it gets an SVID: admission fails closed.
 *
 * The plugin's arguments are the ones its README documents (`--device` JSON, `--domain`, `--listen`,
 * `--plugin-directory`); it globs the device paths under /dev and serves the kubelet's device plugin API on a
 * socket in /var/lib/kubelet/device-plugins, so it runs as root (the directory is root's) with both host paths,
 * but needs no capability and opens no device itself: upstream's manifest runs it privileged, which nothing here
 * requires. It talks to no API server and to nothing over the network, so its namespace denies all traffic and
 * its ServiceAccount has no token.
 */
import { pinnedImage, TPM_DEVICE_PLUGIN_IMAGE } from "../../model/images/charts.js";
import type { EstateSpec } from "../../model/estate.js";
import type { NetworkPolicyShape } from "../../model/security/network.js";

/** squat/generic-device-plugin's default `--domain`; the resource is `<domain>/<device name>`. */
const DOMAIN = "squat.ai";
const DEVICE_NAME = "tpmrm";
/** The extended resource the agent requests. */
export const TPM_RESOURCE = `${DOMAIN}/${DEVICE_NAME}`;
/** The TPM resource manager's device on the node (what the agent plugin's TCTI opens). */
export const TPM_DEVICE = "/dev/tpmrm0";
const TPM_DEVICE_NAMESPACE = "meridian-tpm-devices";
const NAME = "tpm-device-plugin";
const SELECTOR = { "app.kubernetes.io/name": NAME };
const LABELS = { ...SELECTOR, "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/managed-by": "pulumi" };
const KUBELET_PLUGINS = "/var/lib/kubelet/device-plugins";
const HEALTH_PORT = 8080;
const PSA_VERSION = "v1.33";

/** The `--device` flag's value: one group of one path, schedulable once per node. */
function tpmDeviceSpec(): string {
  return JSON.stringify({ name: DEVICE_NAME, groups: [{ count: 1, paths: [{ path: TPM_DEVICE }] }] });
}

/**
 * PSA `privileged` is the lowest level admitting hostPath volumes (baseline forbids them); audit and warn stay at
 * `restricted`, as for every Meridian namespace below it (model/security/posture.ts).
 */
export function tpmDeviceNamespace() {
  return {
    metadata: {
      name: TPM_DEVICE_NAMESPACE,
      labels: {
        "app.kubernetes.io/part-of": "meridian",
        "istio-injection": "disabled",
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": PSA_VERSION,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": PSA_VERSION,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": PSA_VERSION,
      },
    },
  };
}

export function tpmDeviceServiceAccount() {
  return { metadata: { name: NAME, namespace: TPM_DEVICE_NAMESPACE, labels: LABELS }, automountServiceAccountToken: false };
}

export function tpmDeviceDaemonSet(spec: EstateSpec) {
  return {
    metadata: { name: NAME, namespace: TPM_DEVICE_NAMESPACE, labels: LABELS },
    spec: {
      selector: { matchLabels: SELECTOR },
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { labels: LABELS },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: false,
          // Wherever SPIRE's agent runs (its chart gives it the same class and tolerates every taint).
          priorityClassName: "system-node-critical",
          tolerations: [
            { operator: "Exists", effect: "NoSchedule" },
            { operator: "Exists", effect: "NoExecute" },
          ],
          containers: [
            {
              name: NAME,
              image: pinnedImage(TPM_DEVICE_PLUGIN_IMAGE, spec.imageDigests),
              // Health and metrics on loopback only: nothing scrapes them through the namespace's deny-all.
              args: ["--device", tpmDeviceSpec(), `--domain=${DOMAIN}`, `--listen=127.0.0.1:${HEALTH_PORT}`, `--plugin-directory=${KUBELET_PLUGINS}/`],
              // Upstream's requests; no CPU limit, whose throttling stalls the kubelet's ListAndWatch stream.
              resources: { requests: { cpu: "50m", memory: "10Mi" }, limits: { memory: "20Mi" } },
              securityContext: {
                runAsUser: 0,
                runAsNonRoot: false,
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [
                { name: "device-plugins", mountPath: KUBELET_PLUGINS },
                { name: "dev", mountPath: "/dev", readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "device-plugins", hostPath: { path: KUBELET_PLUGINS, type: "Directory" } },
            { name: "dev", hostPath: { path: "/dev", type: "Directory" } },
          ],
        },
      },
    },
  };
}

/** Default deny both ways: the kubelet reaches the plugin over its socket, and the plugin dials nothing. */
export function tpmDeviceNetworkPolicy(): NetworkPolicyShape {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "default-deny", namespace: TPM_DEVICE_NAMESPACE, labels: { "app.kubernetes.io/part-of": "meridian" } },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
}
