// Every pod the prod plan creates, as Pod Security Admission will see it — the workload's own containers plus
// the ones Istio's injector adds where its namespace asks for injection — against the level its namespace
// enforces. Namespace labels, istiod's injection values and each pod spec are read from the plan itself.
import { beforeAll, describe, expect, it } from "vitest";
import { ofType, type Plan, type RecordedResource } from "../../harness.js";
import { prodPlan } from "../workloads/plan.js";
import { podTemplate } from "../../../components/preview/rules/kubernetes.js";
import { NAMESPACES } from "../../../model/estate.js";
import { injectedContainers, type InjectionValues } from "../../../model/security/istio-injection.js";
import { podSecurityViolations, type PodSpecLike } from "../../../model/security/pod-security.js";
import { NAMESPACE_POSTURE, type PodSecurityLevel } from "../../../model/security/posture.js";

const WORKLOAD_TYPES = ["kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];

interface NamespaceView {
  enforce: PodSecurityLevel;
  injection: boolean;
}

/** Per provider (one per region): namespace name → its labels' meaning. */
function namespacesByProvider(plan: Plan): Map<string, Map<string, NamespaceView>> {
  const out = new Map<string, Map<string, NamespaceView>>();
  for (const ns of ofType(plan, "kubernetes:core/v1:Namespace")) {
    const meta = ns.inputs["metadata"] as { name: string; labels: Record<string, string> };
    const map = out.get(ns.provider!) ?? new Map<string, NamespaceView>();
    map.set(meta.name, { enforce: meta.labels["pod-security.kubernetes.io/enforce"] as PodSecurityLevel, injection: meta.labels["istio-injection"] === "enabled" });
    out.set(ns.provider!, map);
  }
  return out;
}

/** istiod's values in the plan, per provider: what the injector will render. */
function injectionByProvider(plan: Plan): Map<string, InjectionValues> {
  const out = new Map<string, InjectionValues>();
  for (const r of ofType(plan, "kubernetes:helm.sh/v3:Release").filter((x) => x.inputs["chart"] === "istiod")) {
    const v = r.inputs["values"] as { cni?: { enabled?: boolean }; global?: { proxy?: { seccompProfile?: { type: string } } } };
    out.set(r.provider!, { cni: v.cni?.enabled === true, seccompProfile: v.global?.proxy?.seccompProfile ?? null });
  }
  return out;
}

/** The pod as admission sees it: injected unless the namespace or the pod opts out (host-network pods never are). */
function admittedPod(template: Record<string, unknown>, ns: NamespaceView, injection: InjectionValues): PodSpecLike {
  const spec = template["spec"] as PodSpecLike;
  const labels = (template["metadata"] as { labels?: Record<string, string> } | undefined)?.labels ?? {};
  const injected = ns.injection && !spec.hostNetwork && labels["sidecar.istio.io/inject"] !== "false";
  if (!injected) return spec;
  const add = injectedContainers(injection);
  return { ...spec, initContainers: [...add.initContainers, ...(spec.initContainers ?? [])], containers: [...(spec.containers ?? []), ...add.containers] };
}

function violations(plan: Plan, injectionOverride?: InjectionValues): string[] {
  const namespaces = namespacesByProvider(plan);
  const injection = injectionByProvider(plan);
  const out: string[] = [];
  for (const r of plan.resources.filter((x) => WORKLOAD_TYPES.includes(x.type))) {
    const name = (r.inputs["metadata"] as { namespace: string }).namespace;
    const ns = namespaces.get(r.provider!)?.get(name);
    if (!ns) {
      out.push(`${r.name}: namespace ${name} is not one the plan creates`);
      continue;
    }
    const pod = admittedPod(podTemplate(r)!.template, ns, injectionOverride ?? injection.get(r.provider!)!);
    for (const v of podSecurityViolations(ns.enforce, pod)) out.push(`${r.name} (${name}, ${ns.enforce}): ${v}`);
  }
  return out;
}

describe("prod plan: Pod Security Admission admits every pod", () => {
  let plan: Plan;
  let workloads: RecordedResource[];
  beforeAll(async () => {
    plan = await prodPlan();
    workloads = plan.resources.filter((x) => WORKLOAD_TYPES.includes(x.type));
  }, 120_000);

  it("every namespace in every region carries injection and enforce/audit/warn labels with a version", () => {
    const namespaces = ofType(plan, "kubernetes:core/v1:Namespace");
    expect(namespaces).toHaveLength(6 * Object.keys(NAMESPACES).length);
    for (const ns of namespaces) {
      const labels = (ns.inputs["metadata"] as { labels: Record<string, string> }).labels;
      // istio-system of a multi-cluster stack (prod) has none: the east-west gateway's pods opt in by their own label.
      if ((ns.inputs["metadata"] as { name: string }).name === NAMESPACES.istio) expect(labels["istio-injection"], ns.name).toBeUndefined();
      else expect(labels["istio-injection"], ns.name).toMatch(/^(enabled|disabled)$/);
      for (const mode of ["enforce", "audit", "warn"]) {
        expect(labels[`pod-security.kubernetes.io/${mode}`], `${ns.name} ${mode}`).toMatch(/^(privileged|baseline|restricted)$/);
        expect(labels[`pod-security.kubernetes.io/${mode}-version`], `${ns.name} ${mode}`).toMatch(/^v1\.\d+$/);
      }
    }
    // Workload namespaces are meshed; only the documented exceptions enforce less than restricted.
    for (const role of ["gateway", "runtime", "time"] as const) expect(NAMESPACE_POSTURE[role].injection).toBe(true);
    expect(
      Object.entries(NAMESPACE_POSTURE)
        .filter(([, p]) => p.enforce !== "restricted")
        .map(([r]) => r)
        .sort(),
    ).toEqual(["istio", "spire", "time"]);
  });

  it("each pod spec (with Istio's containers where injected) satisfies its namespace's level", () => {
    expect(workloads.length).toBeGreaterThan(50);
    expect(violations(plan)).toEqual([]);
  });

  it("the restricted pods of the time namespace (the grandmaster) would pass restricted too", () => {
    const gm = workloads.filter((r) => r.name.endsWith("-grandmaster") && r.type === "kubernetes:apps/v1:Deployment");
    expect(gm.length).toBeGreaterThan(0);
    for (const r of gm) expect(podSecurityViolations("restricted", podTemplate(r)!.template["spec"] as PodSpecLike), r.name).toEqual([]);
  });

  it("the check can fail: without the CNI agent, injected pods are refused", () => {
    const refused = violations(plan, { cni: false, seccompProfile: { type: "RuntimeDefault" } });
    expect(refused.some((v) => /-escrow-deployment .*"istio-init" must not include "NET_ADMIN"/.test(v))).toBe(true);
  });
});
