import { describe, expect, it } from "vitest";
import { injectedContainers } from "../../../model/security/istio-injection.js";
import { podSecurityViolations, type PodSpecLike } from "../../../model/security/pod-security.js";
import { NAMESPACE_POSTURE, namespaceSecurityLabels } from "../../../model/security/posture.js";

const compliant: PodSpecLike = {
  securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
  containers: [{ name: "app", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
  volumes: [
    { name: "config", configMap: { name: "c" } },
    { name: "tmp", emptyDir: {} },
  ],
};

describe("Pod Security Standards", () => {
  it("admits a restricted-compliant pod at every level", () => {
    for (const level of ["privileged", "baseline", "restricted"] as const) expect(podSecurityViolations(level, compliant)).toEqual([]);
  });

  it("restricted refuses each missing control, naming the container", () => {
    const c = compliant.containers![0]!;
    const cases: [PodSpecLike, RegExp][] = [
      [{ ...compliant, securityContext: { ...compliant.securityContext, runAsNonRoot: undefined } }, /runAsNonRoot != true .*"app"/],
      [{ ...compliant, securityContext: { runAsNonRoot: true } }, /seccompProfile .*"app"/],
      [{ ...compliant, containers: [{ ...c, securityContext: { capabilities: { drop: ["ALL"] } } }] }, /allowPrivilegeEscalation != false/],
      [{ ...compliant, containers: [{ ...c, securityContext: { allowPrivilegeEscalation: false } }] }, /unrestricted capabilities .*drop=\["ALL"\]/],
      [{ ...compliant, containers: [{ ...c, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["CHOWN"] } } }] }, /must not include "CHOWN"/],
      [{ ...compliant, volumes: [{ name: "nfs", nfs: { server: "x", path: "/" } }] }, /restricted volume types .*nfs/],
      [{ ...compliant, containers: [{ ...c, securityContext: { ...c.securityContext, runAsUser: 0 } }] }, /runAsUser=0/],
    ];
    for (const [pod, message] of cases) expect(podSecurityViolations("restricted", pod).join("\n")).toMatch(message);
  });

  it("baseline refuses host namespaces, hostPath, privileged and capabilities beyond the runtime default, but allows CHOWN", () => {
    const host: PodSpecLike = {
      hostNetwork: true,
      hostPID: true,
      containers: [{ name: "chronyd", securityContext: { privileged: true, capabilities: { add: ["SYS_TIME", "CHOWN"] } } }],
      volumes: [{ name: "state", hostPath: { path: "/var/lib" } }],
    };
    const v = podSecurityViolations("baseline", host).join("\n");
    for (const m of [/hostNetwork=true/, /hostPID=true/, /privileged \(container "chronyd"/, /must not include "SYS_TIME"/, /hostPath volumes \(volume "state"\)/]) expect(v).toMatch(m);
    expect(v).not.toMatch(/CHOWN/);
    expect(podSecurityViolations("privileged", host)).toEqual([]);
  });

  it("Istio's injected containers are restricted with the CNI agent and refused without it", () => {
    const withCni = injectedContainers({ cni: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(podSecurityViolations("restricted", { ...compliant, initContainers: withCni.initContainers, containers: [...compliant.containers!, ...withCni.containers] })).toEqual([]);
    const noCni = injectedContainers({ cni: false, seccompProfile: { type: "RuntimeDefault" } });
    const refused = podSecurityViolations("restricted", { ...compliant, initContainers: noCni.initContainers, containers: compliant.containers! }).join("\n");
    expect(refused).toMatch(/"istio-init" must not include "NET_ADMIN", "NET_RAW"/);
    expect(podSecurityViolations("baseline", { ...compliant, initContainers: noCni.initContainers })).not.toEqual([]);
  });

  it("every namespace below restricted or without injection says why, and all audit and warn at restricted", () => {
    for (const [role, p] of Object.entries(NAMESPACE_POSTURE)) {
      if (p.enforce === "restricted" && p.injection) expect(p.exception, role).toBe("");
      else expect(p.exception.length, role).toBeGreaterThan(40);
      const labels = namespaceSecurityLabels(role as keyof typeof NAMESPACE_POSTURE);
      expect(labels["pod-security.kubernetes.io/warn"]).toBe("restricted");
      expect(labels["pod-security.kubernetes.io/enforce-version"]).toMatch(/^v1\.\d+$/);
    }
  });
});
