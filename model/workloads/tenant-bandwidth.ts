/**
 * A tenant's bandwidth quota, enforced by the mesh: an Istio EnvoyFilter in the tenant's namespace (no
 * workloadSelector, so it applies to every workload in `tenant-<id>` and to nothing elsewhere) inserts Envoy's
 * bandwidth_limit HTTP filter before the router of the tenant pods' sidecars:
 * - SIDECAR_INBOUND at `hard.ingressKbps`: traffic to the tenant's services, request and response bodies;
 * - SIDECAR_OUTBOUND at `hard.egressKbps`: the calls the tenant's pods make, request and response bodies.
 * In REQUEST_AND_RESPONSE mode both directions draw on one token bucket, refilled every 50 ms.
 *
 * What Envoy enforces: a token bucket per filter instance, i.e. per pod's sidecar and per HTTP filter chain
 * (Istio builds one per inbound port and per outbound listener). So the limits are per workload instance. The
 * namespace's aggregate is bounded by them times the pods the ResourceQuota admits. Bodies over the limit are
 * delayed, not refused (Envoy buffers and releases them at the rate). Plain TCP is not HTTP and is not
 * throttled. Operators can switch a tenant's filter off without a deploy through Envoy's runtime key
 * `meridian.tenant.<id>.bandwidth.{ingress,egress}_enabled`.
 *
 * Pure; components/workloads/tenant-quotas.ts registers it beside the ResourceQuota. Invariant: limit_kbps is
 * the tenant's configured quota, unchanged (both are KiB/s).
 */
import type { EnvoyFilterShape } from "./gateway-ratelimit.js";
import type { TenantQuota } from "./tenants.js";

/** Envoy's default refill period, stated so the rendered config says what it does. */
const FILL_INTERVAL = "0.05s";

const HCM = "envoy.filters.network.http_connection_manager";
export const BANDWIDTH_FILTER = "envoy.filters.http.bandwidth_limit";
const BANDWIDTH_TYPE = "type.googleapis.com/envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit";

type Direction = "ingress" | "egress";
const CONTEXT: Record<Direction, "SIDECAR_INBOUND" | "SIDECAR_OUTBOUND"> = { ingress: "SIDECAR_INBOUND", egress: "SIDECAR_OUTBOUND" };

/** The tenant's bandwidth EnvoyFilter, or null when its quota sets neither ingressKbps nor egressKbps. */
export function tenantBandwidthFilter(t: TenantQuota, namespace: string, labels: Record<string, string>): EnvoyFilterShape | null {
  const limits: [Direction, number | undefined][] = [
    ["ingress", t.hard.ingressKbps],
    ["egress", t.hard.egressKbps],
  ];
  const patches = limits
    .filter((l): l is [Direction, number] => l[1] !== undefined)
    .map(([dir, kbps]) => ({
      applyTo: "HTTP_FILTER",
      match: { context: CONTEXT[dir], listener: { filterChain: { filter: { name: HCM, subFilter: { name: "envoy.filters.http.router" } } } } },
      patch: {
        operation: "INSERT_BEFORE",
        value: {
          name: BANDWIDTH_FILTER,
          typed_config: {
            "@type": BANDWIDTH_TYPE,
            stat_prefix: `tenant_${t.id.replace(/-/g, "_")}_${dir}`,
            enable_mode: "REQUEST_AND_RESPONSE",
            limit_kbps: kbps,
            fill_interval: FILL_INTERVAL,
            runtime_enabled: { default_value: true, runtime_key: `meridian.tenant.${t.id}.bandwidth.${dir}_enabled` },
          },
        },
      },
    }));
  if (patches.length === 0) return null;
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: "tenant-bandwidth", namespace, labels },
    spec: { configPatches: patches },
  };
}
