/**
 * Each Meridian namespace's security posture: whether Istio injects a sidecar into its pods, and the Pod
 * Security Standard the API server enforces on it (Pod Security Admission labels). Components label the
 * namespaces from this table; tests check every pod the plan creates against the level of its namespace.
 *
 * Invariant: a namespace is `restricted` unless a pod it must run cannot be; then it names the pods and the
 * reason, enforces the narrowest level those pods need, and still audits and warns at `restricted`, so every
 * other pod's violation is reported. Mesh sidecars come with the Istio CNI node agent, which sets up traffic
 * redirection on the node: the injected `istio-validation` init container then needs no NET_ADMIN/NET_RAW and
 * runs as UID 1337, so injected pods stay `restricted`.
 */
import type { NamespaceRole } from "../estate.js";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** The Pod Security Standards version the labels pin (Kubernetes minor; the rules checked here are this version's). */
const POD_SECURITY_VERSION = "v1.33";

export interface NamespacePosture {
  /** Istio injects its sidecar into every pod (label `istio-injection=enabled`), or never (`disabled`). */
  injection: boolean;
  enforce: PodSecurityLevel;
  /** Why injection is off or enforcement is below `restricted`; empty when neither. */
  exception: string;
}

export const NAMESPACE_POSTURE: Record<NamespaceRole, NamespacePosture> = {
  gateway: { injection: true, enforce: "restricted", exception: "" },
  runtime: { injection: true, enforce: "restricted", exception: "" },
  time: {
    injection: true,
    enforce: "privileged",
    exception:
      "chrony disciplines the node clock (CAP_SYS_TIME on the host network, PHC devices through hostPath) and linuxptp needs the host's " +
      "PTP hardware clocks, PID and IPC namespaces; the grandmaster in the same namespace is restricted-compliant and meshed " +
      "(host-network pods are never injected)",
  },
  certManager: {
    injection: false,
    enforce: "restricted",
    exception: "the API server calls cert-manager's and approver-policy's webhooks without a mesh identity, so a STRICT sidecar would refuse it",
  },
  spire: {
    injection: false,
    enforce: "privileged",
    exception:
      "SPIRE issues the sidecars' identities, so it cannot wait for one; its agent DaemonSet attests pods through the host PID namespace " +
      "and serves the Workload API on a hostPath socket, and the SPIFFE CSI driver mounts it into pods",
  },
  istio: {
    injection: false,
    enforce: "privileged",
    exception:
      "the control plane is not meshed; the Istio CNI node agent writes CNI config and programs pod network namespaces on the host. " +
      "In a multi-cluster stack the namespace carries no istio-injection label (components/cluster/region-cluster.ts), so only the " +
      "east-west gateway's pods, which opt in by their own label, are injected",
  },
  monitoring: {
    injection: false,
    enforce: "restricted",
    exception: "Prometheus scrapes meshed pods on the sidecar agent's plaintext merged-metrics port (15020), which STRICT mTLS leaves open; it serves no mesh traffic",
  },
};

/** The labels a namespace carries: injection on or off, PSA enforce/audit/warn with the pinned version. */
export function namespaceSecurityLabels(role: NamespaceRole): Record<string, string> {
  const p = NAMESPACE_POSTURE[role];
  return {
    "istio-injection": p.injection ? "enabled" : "disabled",
    "pod-security.kubernetes.io/enforce": p.enforce,
    "pod-security.kubernetes.io/enforce-version": POD_SECURITY_VERSION,
    // Below restricted, still report what restricted would refuse.
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/audit-version": POD_SECURITY_VERSION,
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": POD_SECURITY_VERSION,
  };
}
