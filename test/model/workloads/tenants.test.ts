// Tenant quotas rendered from the model: the numbers in Kubernetes units, and container defaults that could
// never fit the tenant refused by name.
import { describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { quotaTree, tenantObjects } from "../../../model/workloads/tenants.js";
import { loadStack } from "../../../stacks/load.js";

const spec = buildEstateSpec("dev", loadStack("dev"));
const withTenants = (tenants: unknown[]) => ({ ...spec, runtime: { ...spec.runtime, quota: { authorities: ["root"], tenants } } }) as typeof spec;
const container = { defaultRequest: { cpu: 0.1, memory: 0.125 }, default: { cpu: 0.5, memory: 0.5 } };

describe("tenant quotas", () => {
  it("renders cores as millicores and GiB as Gi/Mi, and the same numbers in the quota tree", () => {
    const s = withTenants([{ id: "acme", owners: ["a"], hard: { cpu: 1.5, memory: 3, storage: 0.5, pods: 10 }, container }]);
    const [t] = tenantObjects(s, "gcp-usc1");
    expect(t!.resourceQuota.spec.hard).toEqual({ "requests.cpu": "1500m", "limits.cpu": "1500m", "requests.memory": "3Gi", "limits.memory": "3Gi", "requests.storage": "512Mi", pods: "10" });
    expect(t!.limitRange.spec.limits[0]).toMatchObject({ defaultRequest: { cpu: "100m", memory: "128Mi" }, default: { cpu: "500m", memory: "512Mi" } });
    expect(quotaTree(s)).toMatchObject({ authorities: ["root"], tenants: [{ id: "acme", hard: { cpu: 1.5, memory: 3, storage: 0.5, pods: 10 }, owners: ["a"] }] });
  });

  it("refuses container defaults that exceed the tenant or each other", () => {
    expect(() => tenantObjects(withTenants([{ id: "tiny", owners: [], hard: { cpu: 0.25, memory: 4 }, container }]), "r")).toThrow(
      /tenant tiny: container.default.cpu 0.5 exceeds the tenant's hard.cpu 0.25/,
    );
    expect(() => tenantObjects(withTenants([{ id: "odd", owners: [], hard: { cpu: 4, memory: 4 }, container: { ...container, defaultRequest: { cpu: 1, memory: 0.1 } } }]), "r")).toThrow(
      /tenant odd: container.defaultRequest.cpu 1 exceeds container.default.cpu 0.5/,
    );
  });
});
