// A tenant's bandwidth EnvoyFilter, judged by what consumes it: Istio's EnvoyFilter CRD schema, Envoy's own
// protos with their validation rules for the filter, and the http_connection_manager a sidecar ends up with once
// istiod applies the patch (the filter before the router, the router still last). Stack config with a bandwidth
// Envoy would refuse is refused naming the key.
import { describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { BANDWIDTH_FILTER, tenantBandwidthFilter } from "../../../model/workloads/tenant-bandwidth.js";
import { tenantObjects, type TenantQuota } from "../../../model/workloads/tenants.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { validateCustomResource } from "../../components/pki/schemas.js";
import { checkEnvoyJson } from "../../envoy-proto.js";

const PROTOS = ["envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto", "envoy/extensions/filters/http/bandwidth_limit/v3/bandwidth_limit.proto"];
const HTTP_FILTER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter";
const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };

const container = { defaultRequest: { cpu: 0.1, memory: 0.125 }, default: { cpu: 0.5, memory: 0.5 } };
const tenant = (hard: Partial<TenantQuota["hard"]>): TenantQuota => ({ id: "acme-eu", owners: [], hard: { cpu: 4, memory: 8, ...hard }, container });

type Patch = NonNullable<ReturnType<typeof tenantBandwidthFilter>>["spec"]["configPatches"][number];

/**
 * istiod's HTTP_FILTER INSERT_BEFORE on one http_connection_manager of a listener in `context`: the value goes
 * before the filter the match's subFilter names, when the patch's context is the listener's.
 */
function applyPatches(context: string, filters: { name: string }[], patches: Patch[]): { name: string }[] {
  let out = [...filters];
  for (const p of patches) {
    const m = p.match as { context: string; listener: { filterChain: { filter: { name: string; subFilter: { name: string } } } } };
    if (p.applyTo !== "HTTP_FILTER" || p.patch.operation !== "INSERT_BEFORE" || m.context !== context) continue;
    if (m.listener.filterChain.filter.name !== "envoy.filters.network.http_connection_manager") continue;
    const at = out.findIndex((f) => f.name === m.listener.filterChain.filter.subFilter.name);
    if (at >= 0) out = [...out.slice(0, at), p.patch.value as { name: string }, ...out.slice(at)];
  }
  return out;
}

describe("a tenant's bandwidth EnvoyFilter", () => {
  const filter = tenantBandwidthFilter(tenant({ ingressKbps: 2048, egressKbps: 512 }), "tenant-acme-eu", { "meridian.dev/tenant": "acme-eu" })!;

  it("limits the tenant's inbound sidecar traffic to ingressKbps and its outbound calls to egressKbps, in its own namespace", () => {
    expect(filter.metadata.namespace).toBe("tenant-acme-eu");
    // No workloadSelector: every workload of the tenant's namespace, none elsewhere.
    expect(filter.spec.workloadSelector).toBeUndefined();
    const by = Object.fromEntries(filter.spec.configPatches.map((p) => [(p.match as { context: string }).context, (p.patch.value as { typed_config: Record<string, unknown> }).typed_config]));
    expect(by["SIDECAR_INBOUND"]).toMatchObject({ limit_kbps: 2048, enable_mode: "REQUEST_AND_RESPONSE", stat_prefix: "tenant_acme_eu_ingress" });
    expect(by["SIDECAR_OUTBOUND"]).toMatchObject({ limit_kbps: 512, enable_mode: "REQUEST_AND_RESPONSE", stat_prefix: "tenant_acme_eu_egress" });
    // One direction only: one patch; none: no EnvoyFilter at all.
    expect(tenantBandwidthFilter(tenant({ egressKbps: 64 }), "tenant-acme-eu", {})!.spec.configPatches.map((p) => (p.match as { context: string }).context)).toEqual(["SIDECAR_OUTBOUND"]);
    expect(tenantBandwidthFilter(tenant({}), "tenant-acme-eu", {})).toBeNull();
  });

  it("is accepted by Istio's EnvoyFilter CRD schema, and the check can fail", () => {
    const asResource = (x: object) => x as { apiVersion: string; kind: string };
    validateCustomResource(asResource(filter));
    expect(() => validateCustomResource(asResource({ ...filter, spec: { ...filter.spec, configPatches: [{ ...filter.spec.configPatches[0]!, applyTo: "HTTP_FILTERS" }] } }))).toThrow();
  });

  it("is accepted by Envoy's own protos and validation rules, patch by patch, and the check can fail", () => {
    for (const p of filter.spec.configPatches) checkEnvoyJson(PROTOS, HTTP_FILTER, p.patch.value);
    const value = filter.spec.configPatches[0]!.patch.value as { name: string; typed_config: Record<string, unknown> };
    const broken = (typed: Record<string, unknown>) => () => checkEnvoyJson(PROTOS, HTTP_FILTER, { ...value, typed_config: { ...value.typed_config, ...typed } });
    expect(broken({ limit_kbps: 0 })).toThrow(/limit_kbps: 0 violates .* ≥ 1/);
    expect(broken({ fill_interval: "0.01s" })).toThrow(/fill_interval: 0.01s violates .* ≥ 0.02s/);
    expect(broken({ fill_interval: "2s" })).toThrow(/≤ 1s/);
    expect(broken({ enable_mode: "BOTH" })).toThrow(/not a value of .*EnableMode/);
    expect(broken({ stat_prefix: "" })).toThrow(/min_len 1/);
    expect(broken({ runtime_enabled: { runtime_key: "k" } })).toThrow(/default_value: required/);
    expect(broken({ limit_kpbs: 5 })).toThrow(/no field limit_kpbs/);
  });

  it("sits before the router in the sidecars' connection managers, which Envoy's protos accept whole", () => {
    // The HTTP filters istiod gives a sidecar's connection managers (Envoy-native ones; the router is always last).
    const chain = [
      { name: "envoy.filters.http.grpc_stats", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig", emit_filter_state: true } },
      { name: "envoy.filters.http.fault", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" } },
      { name: "envoy.filters.http.cors", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors" } },
      ROUTER,
    ];
    const protos = [
      ...PROTOS,
      "envoy/extensions/filters/http/router/v3/router.proto",
      "envoy/extensions/filters/http/fault/v3/fault.proto",
      "envoy/extensions/filters/http/cors/v3/cors.proto",
      "envoy/extensions/filters/http/grpc_stats/v3/config.proto",
    ];
    for (const [context, kbps] of [
      ["SIDECAR_INBOUND", 2048],
      ["SIDECAR_OUTBOUND", 512],
    ] as const) {
      const http_filters = applyPatches(context, chain, filter.spec.configPatches);
      expect(http_filters.map((f) => f.name)).toEqual(["envoy.filters.http.grpc_stats", "envoy.filters.http.fault", "envoy.filters.http.cors", BANDWIDTH_FILTER, "envoy.filters.http.router"]);
      expect((http_filters.at(-2) as unknown as { typed_config: { limit_kbps: number } }).typed_config.limit_kbps).toBe(kbps);
      checkEnvoyJson(protos, HCM, {
        stat_prefix: context === "SIDECAR_INBOUND" ? "inbound_0.0.0.0_8080" : "outbound_0.0.0.0_8080",
        rds: { route_config_name: "8080", config_source: { ads: {} } },
        http_filters,
      });
    }
    // Neither patch touches a gateway's Envoy.
    expect(applyPatches("GATEWAY", chain, filter.spec.configPatches)).toEqual(chain);
  });

  it("is rendered with the tenant's namespace, ResourceQuota and LimitRange, with the same labels", () => {
    const spec = buildEstateSpec("dev", parseEstateConfig(readStackConfigMap("dev"), "dev"));
    const s = { ...spec, runtime: { ...spec.runtime, quota: { ...spec.runtime.quota, authorities: ["root"], tenants: [tenant({ ingressKbps: 100 }), { ...tenant({}), id: "quiet" }] } } };
    const [withLimits, quiet] = tenantObjects(s, "gcp-usc1");
    expect(withLimits!.bandwidth!.metadata).toEqual({ name: "tenant-bandwidth", namespace: withLimits!.namespace.metadata.name, labels: withLimits!.resourceQuota.metadata.labels });
    expect(quiet!.bandwidth).toBeNull();
  });

  it("refuses a bandwidth Envoy would refuse, naming the key", () => {
    const config = (hard: Record<string, unknown>) => {
      const map = readStackConfigMap("dev");
      const runtime = (map["meridian:runtime"] ?? {}) as Record<string, unknown>;
      return { ...map, "meridian:runtime": { ...runtime, quota: { tenants: [{ id: "acme", hard: { cpu: 1, memory: 1, ...hard } }] } } };
    };
    expect(() => parseEstateConfig(config({ ingressKbps: 0 }), "dev")).toThrow(/meridian:runtime\.quota\.tenants\[0\]\.hard\.ingressKbps: got 0; expected at least 1 KiB\/s/);
    expect(() => parseEstateConfig(config({ egressKbps: 1.5 }), "dev")).toThrow(/meridian:runtime\.quota\.tenants\[0\]\.hard\.egressKbps: got 1\.5; expected whole KiB\/s/);
    expect(() => parseEstateConfig(config({ bandwidthKbps: 10 }), "dev")).toThrow(/bandwidthKbps/);
    expect(parseEstateConfig(config({ ingressKbps: 10 }), "dev").runtime.quota.tenants[0]!.hard.ingressKbps).toBe(10);
  });
});
