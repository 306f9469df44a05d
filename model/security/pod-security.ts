/**
 * The Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/, the
 * `baseline` and `restricted` profiles as Pod Security Admission enforces them at POD_SECURITY_VERSION): the
 * violations of one pod spec at a level, worded like the admission controller's denial. Pure: tests run every
 * pod template of the plan through it, with the containers Istio will inject added (istio-injection.ts).
 */
import type { PodSecurityLevel } from "./posture.js";

/** The fields the checks read; extra fields of a real pod spec are ignored. */
export interface PodSpecLike {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContextLike & { sysctls?: { name: string }[] };
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  volumes?: Record<string, unknown>[];
}
export interface SecurityContextLike {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type?: string };
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  procMount?: string;
  seLinuxOptions?: { type?: string };
}
export interface ContainerLike {
  name: string;
  securityContext?: SecurityContextLike;
  ports?: { hostPort?: number }[];
}

/** Capabilities baseline allows a container to add (the container runtime's default set). */
const BASELINE_CAPABILITIES = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

const strip = (c: string) => c.replace(/^CAP_/, "").toUpperCase();

function baseline(pod: PodSpecLike, containers: ContainerLike[]): string[] {
  const out: string[] = [];
  if (pod.hostNetwork) out.push("host namespaces (hostNetwork=true)");
  if (pod.hostPID) out.push("host namespaces (hostPID=true)");
  if (pod.hostIPC) out.push("host namespaces (hostIPC=true)");
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push(`privileged (container "${c.name}" must not set securityContext.privileged=true)`);
    const extra = (sc.capabilities?.add ?? []).map(strip).filter((x) => !BASELINE_CAPABILITIES.has(x));
    if (extra.length) out.push(`non-default capabilities (container "${c.name}" must not include ${extra.map((x) => `"${x}"`).join(", ")} in securityContext.capabilities.add)`);
    if ((c.ports ?? []).some((p) => (p.hostPort ?? 0) !== 0)) out.push(`hostPort (container "${c.name}" uses hostPort)`);
    if (sc.procMount !== undefined && sc.procMount !== "Default") out.push(`procMount (container "${c.name}" must not set securityContext.procMount=${sc.procMount})`);
    if (sc.seccompProfile?.type === "Unconfined") out.push(`seccompProfile (container "${c.name}" must not set securityContext.seccompProfile.type to "Unconfined")`);
    if (sc.seLinuxOptions?.type !== undefined && !SELINUX_TYPES.has(sc.seLinuxOptions.type)) out.push(`seLinuxOptions (container "${c.name}" type ${sc.seLinuxOptions.type})`);
  }
  if (pod.securityContext?.seccompProfile?.type === "Unconfined") out.push('seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")');
  for (const s of pod.securityContext?.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) out.push(`forbidden sysctls (${s.name})`);
  for (const v of pod.volumes ?? []) if ("hostPath" in v) out.push(`hostPath volumes (volume "${String(v["name"])}")`);
  return out;
}

function restricted(pod: PodSpecLike, containers: ContainerLike[]): string[] {
  const out: string[] = [];
  const podSc = pod.securityContext ?? {};
  for (const v of pod.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (type !== undefined && type !== "hostPath" && !RESTRICTED_VOLUMES.has(type)) out.push(`restricted volume types (volume "${String(v["name"])}" uses ${type})`);
  }
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) out.push(`allowPrivilegeEscalation != false (container "${c.name}" must set securityContext.allowPrivilegeEscalation=false)`);
    const drop = (sc.capabilities?.drop ?? []).map(strip);
    if (!drop.includes("ALL")) out.push(`unrestricted capabilities (container "${c.name}" must set securityContext.capabilities.drop=["ALL"])`);
    const add = (sc.capabilities?.add ?? []).map(strip).filter((x) => x !== "NET_BIND_SERVICE");
    if (add.length) out.push(`unrestricted capabilities (container "${c.name}" must not include ${add.map((x) => `"${x}"`).join(", ")} in securityContext.capabilities.add)`);
    const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (nonRoot !== true) out.push(`runAsNonRoot != true (pod or container "${c.name}" must set securityContext.runAsNonRoot=true)`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`runAsUser=0 (container "${c.name}" must not run as UID 0)`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      out.push(`seccompProfile (pod or container "${c.name}" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`);
  }
  if (podSc.runAsUser === 0) out.push("runAsUser=0 (pod must not run as UID 0)");
  return out;
}

/** Why Pod Security Admission would refuse this pod at `level`; empty when it admits it. */
export function podSecurityViolations(level: PodSecurityLevel, pod: PodSpecLike): string[] {
  if (level === "privileged") return [];
  const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
  const out = baseline(pod, containers);
  return level === "restricted" ? [...out, ...restricted(pod, containers)] : out;
}
