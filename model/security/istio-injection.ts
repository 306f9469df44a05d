/**
 * The containers Istio's sidecar injector adds to a pod, as its 1.28 injection template
 * (manifests/charts/istio-control/istio-discovery/files/injection-template.yaml) renders them with the values
 * Meridian sets: `global.proxy.privileged` false, `global.proxy.seccompProfile` RuntimeDefault, no TPROXY
 * interception. With the Istio CNI node agent (`cni.enabled`), the init container only validates the pod's
 * redirection (`istio-validation`, UID 1337, no capabilities); without it, `istio-init` runs as root with
 * NET_ADMIN and NET_RAW to write iptables rules, which no `restricted` (or `baseline`) namespace admits.
 * Pod Security Admission sees the pod after injection, so tests check these together with the workload's own.
 */
import type { ContainerLike } from "./pod-security.js";

/** The sidecar agent's merged Prometheus endpoint (Envoy stats + the app's `prometheus.io/*`-annotated metrics). */
export const MERGED_METRICS = { port: 15020, path: "/stats/prometheus" } as const;

export interface InjectionValues {
  cni: boolean;
  seccompProfile: { type: string } | null;
}

export function injectedContainers(values: InjectionValues): { initContainers: ContainerLike[]; containers: ContainerLike[] } {
  const seccomp = values.seccompProfile ? { seccompProfile: values.seccompProfile } : {};
  const init: ContainerLike = values.cni
    ? {
        name: "istio-validation",
        securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true, runAsUser: 1337, ...seccomp },
      }
    : {
        name: "istio-init",
        securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] }, runAsNonRoot: false, runAsUser: 0, ...seccomp },
      };
  const proxy: ContainerLike = {
    name: "istio-proxy",
    securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true, runAsUser: 1337, ...seccomp },
  };
  return { initContainers: [init], containers: [proxy] };
}
