/**
 * The regional gateway asks the rate limit service before it routes the public API: an Istio EnvoyFilter on
 * the gateway's Envoy (selected by its `istio` label) inserts Envoy's ratelimit HTTP filter before the router,
 * pointed at the region's ratelimit service over gRPC (Istio's outbound cluster for its RLS port, reached
 * through the mesh with the gateway's identity, which the service's `callers` and AuthorizationPolicy admit),
 * and gives every public API route the rate-limit action that sends the descriptor the region's rules limit
 * (`generic_key=<domain>`, model/workloads/config.ts). Health-signal routes carry no action: the DNS
 * providers' probes are never limited, so load never makes a region look down.
 *
 * Failure mode: an RLS that does not answer within the timeout lets the request through
 * (`failure_mode_deny: false`): the rate limiter protects the services; it must not become their single
 * point of failure. Pure; the gateway component registers it.
 */
import { GATEWAY, NAMESPACES, type EstateSpec } from "../estate.js";
import { runtimeService, serviceHost } from "../services.js";
import { API_ROUTES, apiRouteName } from "./gateway.js";
import { ESTATE_DESCRIPTOR } from "./ratelimit-shares.js";

/** What the filter sends Envoy's RLS: the descriptor's only entry. */
export const RATELIMIT_ACTIONS = (domain: string) => [{ actions: [{ generic_key: { descriptor_value: domain, descriptor_key: ESTATE_DESCRIPTOR.key } }] }];

/** The RLS call's deadline: a loaded region's limiter answers in a few ms; beyond this the request goes on. */
const RLS_TIMEOUT = "0.05s";

/** An EnvoyFilter; without a workloadSelector it applies to every workload of its namespace. */
export interface EnvoyFilterShape {
  apiVersion: "networking.istio.io/v1alpha3";
  kind: "EnvoyFilter";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { workloadSelector?: { labels: Record<string, string> }; configPatches: { applyTo: string; match: Record<string, unknown>; patch: { operation: string; value: Record<string, unknown> } }[] };
}

/** The cluster istiod builds for a Service port: `outbound|<port>||<host>`. */
function rlsCluster(): string {
  const rls = runtimeService("ratelimit");
  const grpc = rls.ports.find((p) => p.appProtocol === "grpc")!;
  return `outbound|${grpc.port}||${serviceHost(rls)}`;
}

export function gatewayRateLimitFilter(spec: EstateSpec, labels: Record<string, string>): EnvoyFilterShape {
  const { domain } = spec.runtime.ratelimit;
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: `${GATEWAY.name}-ratelimit`, namespace: NAMESPACES.gateway, labels },
    spec: {
      workloadSelector: { labels: { istio: GATEWAY.name } },
      configPatches: [
        {
          applyTo: "HTTP_FILTER",
          match: { context: "GATEWAY", listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager", subFilter: { name: "envoy.filters.http.router" } } } } },
          patch: {
            operation: "INSERT_BEFORE",
            value: {
              name: "envoy.filters.http.ratelimit",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
                domain,
                failure_mode_deny: false,
                timeout: RLS_TIMEOUT,
                rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: rlsCluster() }, timeout: RLS_TIMEOUT }, transport_api_version: "V3" },
              },
            },
          },
        },
        ...API_ROUTES.map((r) => ({
          applyTo: "HTTP_ROUTE",
          match: { context: "GATEWAY", routeConfiguration: { vhost: { route: { name: apiRouteName(r) } } } },
          patch: { operation: "MERGE", value: { route: { rate_limits: RATELIMIT_ACTIONS(domain) } } },
        })),
      ],
    },
  };
}
