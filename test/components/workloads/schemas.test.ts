// Every Kubernetes object in the prod plan — every area's, not only the runtime's — validated against
// its real schema: the Kubernetes API's (kubernetes-models) for built-in kinds, the CRDs' own for
// custom resources (@kubernetes-models/prometheus-operator, and the PKI area's validators for
// cert-manager, Istio and SPIRE). An unknown kind fails the test rather than passing unchecked.
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan, RecordedResource } from "../../harness.js";
import { validateCustomResource, KNOWN_KINDS } from "../pki/schemas.js";
import { prodPlan } from "./plan.js";

interface Validatable {
  validate(): void;
}
type Model = new (data: never) => Validatable;

/** `kubernetes:apps/v1:Deployment` → { apiVersion: "apps/v1", kind: "Deployment" }; `core/v1` is `v1`. */
export function apiVersionOf(type: string): { apiVersion: string; kind: string } | null {
  const m = /^kubernetes:([^:]+):(\w+)$/.exec(type);
  if (!m) return null;
  const groupVersion = m[1]!.replace(/^core\//, "");
  return { apiVersion: groupVersion, kind: m[2]! };
}

/** Pulumi resources of the kubernetes provider that are not Kubernetes API objects. */
const NOT_API_OBJECTS = new Set(["kubernetes:helm.sh/v3:Release"]);

async function modelFor(apiVersion: string, kind: string): Promise<Model | null> {
  const path = apiVersion.startsWith("monitoring.coreos.com/")
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
    : apiVersion.includes(".") && !apiVersion.endsWith(".k8s.io/v1")
      ? null
      : `kubernetes-models/${apiVersion}/${kind}`;
  if (path === null) return null;
  const mod = (await import(path)) as Record<string, Model>;
  return mod[kind] ?? null;
}

function objectOf(r: RecordedResource, apiVersion: string, kind: string): Record<string, unknown> {
  return { ...r.inputs, apiVersion, kind };
}

describe("prod plan: Kubernetes objects against their schemas", () => {
  let plan: Plan;
  let objects: RecordedResource[];
  beforeAll(async () => {
    plan = await prodPlan();
    objects = plan.resources.filter((r) => r.type.startsWith("kubernetes:") && !NOT_API_OBJECTS.has(r.type));
  }, 120_000);

  it("includes the runtime's kinds in every region", () => {
    const types = new Set(objects.map((r) => r.type));
    for (const t of ["kubernetes:apps/v1:Deployment", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:core/v1:ServiceAccount"]) {
      expect(types).toContain(t);
    }
  });

  it("every object validates", async () => {
    const failures: string[] = [];
    for (const r of objects) {
      const id = apiVersionOf(r.type);
      if (!id) {
        failures.push(`${r.type} ${r.name}: not a Kubernetes type`);
        continue;
      }
      const obj = objectOf(r, id.apiVersion, id.kind);
      try {
        const model = await modelFor(id.apiVersion, id.kind);
        if (model) new model(obj as never).validate();
        else if (KNOWN_KINDS.includes(`${id.apiVersion}/${id.kind}`)) validateCustomResource(obj as { apiVersion: string; kind: string });
        else throw new Error(`no schema known for ${id.apiVersion}/${id.kind}`);
      } catch (e) {
        failures.push(`${r.type} ${r.name}: ${(e as Error).message.slice(0, 400)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(objects.length).toBeGreaterThan(100);
  });

  it("a schema violation is caught (the check can fail)", async () => {
    const deployment = objects.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name.endsWith("-escrow-deployment"))!;
    const broken = structuredClone(objectOf(deployment, "apps/v1", "Deployment")) as { spec: { replicas: unknown } };
    broken.spec.replicas = "three";
    const model = (await modelFor("apps/v1", "Deployment"))!;
    expect(() => new model(broken as never).validate()).toThrow();
  });
});
