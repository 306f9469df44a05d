/**
 * Tenants' multi-dimensional quotas (meridian:runtime.quota) rendered two ways, from the same numbers:
 * the quota service's tree (runtime/quota's config: dimensions, authorities, tenants with hard limits and
 * owners) and, on every regional cluster, each tenant's namespace `tenant-<id>` with a ResourceQuota
 * (requests and limits of cpu and memory, storage requests, object counts) and a LimitRange (container
 * defaults, so a pod without requests is admitted and charged; a single container at most the tenant's
 * quota). Pure. Invariant: every number in the Kubernetes objects is the tenant's configured quota, in
 * Kubernetes units (cores → millicores, GiB → Mi/Gi), and the ResourceQuota and the quota service agree.
 * A tenant with `ingressKbps` / `egressKbps` also gets its bandwidth EnvoyFilter (tenant-bandwidth.ts).
 */
import type { EstateSpec } from "../estate.js";
import { namespaceSecurityLabels } from "../security/posture.js";
import type { EnvoyFilterShape } from "./gateway-ratelimit.js";
import { tenantBandwidthFilter } from "./tenant-bandwidth.js";

export type TenantQuota = EstateSpec["runtime"]["quota"]["tenants"][number];

/** The quota service's dimensions: the keys a tenant's `hard` may carry. */
const QUOTA_DIMENSIONS = ["cpu", "memory", "storage", "pods", "services", "persistentvolumeclaims", "ingressKbps", "egressKbps"] as const;

const tenantNamespace = (id: string) => `tenant-${id}`;

const cpu = (cores: number) => `${Math.round(cores * 1000)}m`;
const mem = (gib: number) => (Number.isInteger(gib) ? `${gib}Gi` : `${Math.round(gib * 1024)}Mi`);

/** The tree `meridian ratelimit quota --config` reads (runtime/quota/config.ts keys). */
export function quotaTree(spec: Pick<EstateSpec, "runtime">): { dimensions: string[]; authorities: string[]; tenants: { id: string; hard: Record<string, number>; owners: string[] }[] } {
  const q = spec.runtime.quota;
  return {
    dimensions: [...QUOTA_DIMENSIONS],
    authorities: [...q.authorities],
    tenants: q.tenants.map((t) => ({ id: t.id, hard: Object.fromEntries(Object.entries(t.hard).filter(([, v]) => v !== undefined)) as Record<string, number>, owners: [...t.owners] })),
  };
}

export interface TenantObjects {
  tenant: string;
  namespace: { apiVersion: "v1"; kind: "Namespace"; metadata: { name: string; labels: Record<string, string> } };
  resourceQuota: { apiVersion: "v1"; kind: "ResourceQuota"; metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: { hard: Record<string, string> } };
  limitRange: {
    apiVersion: "v1";
    kind: "LimitRange";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: { limits: { type: "Container"; defaultRequest: Record<string, string>; default: Record<string, string>; max: Record<string, string> }[] };
  };
  /** The mesh's bandwidth limits on the tenant's sidecars; null without ingressKbps / egressKbps. */
  bandwidth: EnvoyFilterShape | null;
}

export function tenantObjects(spec: Pick<EstateSpec, "runtime" | "environment">, regionId: string): TenantObjects[] {
  return spec.runtime.quota.tenants.map((t) => {
    const { hard, container } = t;
    for (const k of ["cpu", "memory"] as const) {
      if (container.defaultRequest[k] > container.default[k])
        throw new Error(`meridian:runtime.quota tenant ${t.id}: container.defaultRequest.${k} ${container.defaultRequest[k]} exceeds container.default.${k} ${container.default[k]}`);
      if (container.default[k] > hard[k]) throw new Error(`meridian:runtime.quota tenant ${t.id}: container.default.${k} ${container.default[k]} exceeds the tenant's hard.${k} ${hard[k]}`);
    }
    const name = tenantNamespace(t.id);
    const labels = {
      "app.kubernetes.io/part-of": "meridian",
      "app.kubernetes.io/component": "tenant",
      "meridian.dev/tenant": t.id,
      "meridian.dev/region": regionId,
      "meridian.dev/environment": spec.environment,
    };
    const quota: Record<string, string> = {
      "requests.cpu": cpu(hard.cpu),
      "limits.cpu": cpu(hard.cpu),
      "requests.memory": mem(hard.memory),
      "limits.memory": mem(hard.memory),
    };
    if (hard.storage !== undefined) quota["requests.storage"] = mem(hard.storage);
    for (const k of ["pods", "services", "persistentvolumeclaims"] as const) if (hard[k] !== undefined) quota[k] = String(hard[k]);
    return {
      tenant: t.id,
      // A tenant's pods are meshed and held to the restricted Pod Security Standard, like the runtime's.
      namespace: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { ...labels, ...namespaceSecurityLabels("runtime") } } },
      resourceQuota: { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "tenant-quota", namespace: name, labels }, spec: { hard: quota } },
      limitRange: {
        apiVersion: "v1",
        kind: "LimitRange",
        metadata: { name: "tenant-defaults", namespace: name, labels },
        spec: {
          limits: [
            {
              type: "Container" as const,
              defaultRequest: { cpu: cpu(container.defaultRequest.cpu), memory: mem(container.defaultRequest.memory) },
              default: { cpu: cpu(container.default.cpu), memory: mem(container.default.memory) },
              max: { cpu: cpu(hard.cpu), memory: mem(hard.memory) },
            },
          ],
        },
      },
      bandwidth: tenantBandwidthFilter(t, name, labels),
    };
  });
}
