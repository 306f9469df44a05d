/**
 * MeshTls (`meridian:pki:MeshTls`): Istio on one regional cluster with workload certificates from SPIRE
 * (istiod's trust domain is the environment's; sidecars read SVIDs from the SPIFFE CSI socket), a mesh-wide
 * PeerAuthentication in the root namespace (STRICT in prod), an ISTIO_MUTUAL DestinationRule per runtime
 * service, a default-deny in the runtime and time namespaces, and per-route ALLOW AuthorizationPolicies: the
 * gateway may call public routes only, catalogued callers all but admin routes, the operator identity the admin
 * and drill routes (model/security/routes.ts). Invariant: no principal reaches a runtime service port unless the
 * catalogue names it as a caller, and no admin route answers any identity but the operator's.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import {
  GATEWAY_IDENTITY,
  OPERATOR_IDENTITY,
  RUNTIME_SERVICES,
  callerSpiffeIds,
  istioPrincipal,
  podSelector,
  serviceHost,
  spiffeId,
  type RuntimeService,
  type WorkloadIdentity,
} from "../../model/services.js";
import { GRANDMASTER_ROUTES, SERVICE_ROUTES } from "../../model/security/routes.js";
import { GRANDMASTER_POD_SELECTOR, KIT_SERVICES } from "../../model/security/mesh-identity.js";
import { HEALTH_IDENTITY, healthProbePaths, REPLICATION_MONITOR, REPLICATION_MONITOR_POD_SELECTOR, REPLICATION_MONITOR_READINESS } from "../../model/workloads/gateway.js";
import { GRANDMASTER, grandmasterMode } from "../../model/time/hierarchy.js";
import { istiodMeshValues, meshMember, multiPrimaryMesh } from "../../model/mesh/multi-primary.js";
import type { InjectionValues } from "../../model/security/istio-injection.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { customResource, release, type CustomResourceShape } from "./charts.js";

export interface MeshTlsArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** SPIRE must serve SVIDs before sidecars ask for them. */
  spire: pulumi.Resource;
}

/** Injection template from Istio's SPIRE integration: mount the SPIFFE CSI socket into the sidecar. */
const SPIRE_TEMPLATE = `labels:
  spiffe.io/spire-managed-identity: "true"
spec:
  containers:
  - name: istio-proxy
    volumeMounts:
    - name: workload-socket
      mountPath: /run/secrets/workload-spiffe-uds
      readOnly: true
  volumes:
  - name: workload-socket
    csi:
      driver: "csi.spiffe.io"
      readOnly: true
`;

export class MeshTls extends pulumi.ComponentResource {
  /** Istio's CRDs. */
  public readonly base: k8s.helm.v3.Release;
  public readonly istiod: k8s.helm.v3.Release;
  public readonly customResources: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: MeshTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:MeshTls", name, {}, opts);
    const { spec, region, cluster } = args;
    const child = { parent: this, provider: cluster.provider };
    const istioNs = cluster.namespaces.istio.metadata.name;

    const base = release(`${region.id}-istio-base`, "istioBase", istioNs, { defaultRevision: "default" }, child, spec.imageDigests);
    this.base = base;
    // The CNI agent must be on every node before injected pods start: their init container only validates its redirection.
    const cni = release(`${region.id}-istio-cni`, "istioCni", istioNs, istioCniValues(region), { ...child, dependsOn: [base] }, spec.imageDigests);
    this.istiod = release(`${region.id}-istiod`, "istiod", istioNs, istiodValues(spec, region), { ...child, dependsOn: [base, cni, args.spire] }, spec.imageDigests);
    const after = { ...child, dependsOn: [base, this.istiod] };

    this.customResources = meshPolicies(spec).map((shape) => {
      const scope = shape.metadata.namespace === NAMESPACES.istio ? "mesh" : String(shape.metadata.namespace);
      return customResource(`${region.id}-${scope}-${shape.kind.toLowerCase()}-${shape.metadata.name}`, shape, after);
    });
    this.registerOutputs({});
  }
}

/** What the injector renders into pods (model/security/istio-injection.ts models the result for Pod Security checks). */
const ISTIO_INJECTION: InjectionValues = { cni: true, seccompProfile: { type: "RuntimeDefault" } };

export function istiodValues(spec: EstateSpec, region: Region): Record<string, unknown> {
  // Multi-primary on different networks when the stack has peers (model/mesh/multi-primary.ts); one cluster needs none of it.
  const mesh = multiPrimaryMesh(spec);
  const member = meshMember(spec, region.id);
  return {
    global: {
      ...(mesh && member ? istiodMeshValues(mesh, member) : {}),
      proxy: { privileged: false, seccompProfile: ISTIO_INJECTION.seccompProfile },
    },
    meshConfig: {
      trustDomain: spec.pki.trustDomain,
      defaultConfig: {
        // Envoy's TLS listener stats feed the mesh-handshake SLO and the rotation gates.
        proxyStatsMatcher: { inclusionRegexps: ["listener\\..*\\.ssl\\..*", "listener\\..*\\.downstream_cx_total"] },
      },
    },
    // Traffic redirection by the CNI agent: no NET_ADMIN/NET_RAW init container, so injected pods stay Pod Security `restricted`.
    cni: { enabled: ISTIO_INJECTION.cni },
    // Injection only where a namespace says `istio-injection=enabled` (model/security/posture.ts labels every namespace).
    sidecarInjectorWebhook: { templates: { spire: SPIRE_TEMPLATE }, defaultTemplates: ["sidecar", "spire"], enableNamespacesByDefault: false },
  };
}

/** The Istio CNI node agent; GKE keeps CNI binaries elsewhere and admits system-node-critical pods only under a quota. */
function istioCniValues(region: Region): Record<string, unknown> {
  return region.cloud === "gcp" ? { global: { platform: "gke" }, resourceQuotas: { enabled: true } } : {};
}

/** Every Istio resource the mesh needs, in order: mesh-wide mTLS, then per-service rules, then authorization. */
export function meshPolicies(spec: EstateSpec): CustomResourceShape[] {
  return [
    {
      apiVersion: "security.istio.io/v1",
      kind: "PeerAuthentication",
      // In the root namespace, `default` applies mesh-wide.
      metadata: { name: "default", namespace: NAMESPACES.istio },
      spec: { mtls: { mode: spec.pki.mtls } },
    },
    {
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      // An empty spec matches nothing, so every request in the namespace is denied unless an ALLOW policy matches.
      metadata: { name: "default-deny", namespace: NAMESPACES.runtime },
      spec: {},
    },
    ...RUNTIME_SERVICES.flatMap((s) => [destinationRule(s), authorizationPolicy(spec, s)]),
    // Services that take their callers' identity from the sidecar's XFCC need STRICT whatever the mesh default is.
    ...RUNTIME_SERVICES.filter((s) => KIT_SERVICES.has(s.name)).map(strictPeerAuthentication),
    ...grandmasterAuthorization(spec, spec.time.grandmaster.enabled),
    replicationMonitorAuthorization(spec),
  ];
}

/** The replication monitor's lag verdict (`/readyz`) answers the health aggregator only; its other routes nobody through the mesh. */
function replicationMonitorAuthorization(spec: EstateSpec): CustomResourceShape {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: `${REPLICATION_MONITOR.name}-callers`, namespace: REPLICATION_MONITOR.namespace },
    spec: {
      selector: { matchLabels: REPLICATION_MONITOR_POD_SELECTOR },
      action: "ALLOW",
      rules: [
        {
          from: [{ source: { principals: [istioPrincipal(spiffeId(spec.pki.trustDomain, HEALTH_IDENTITY))] } }],
          to: [{ operation: { ports: [String(REPLICATION_MONITOR.port)], methods: ["GET", "HEAD"], paths: [REPLICATION_MONITOR_READINESS] } }],
        },
      ],
    },
  };
}

/**
 * STRICT mTLS for one service's pods, whatever `meridian:pki.mtls` sets mesh-wide: its app reads the caller from
 * the sidecar's x-forwarded-client-cert (server.identity.xfcc), and on a plaintext connection the sidecar would
 * forward a caller-written header untouched (components/pki/xfcc-trust.ts).
 */
function strictPeerAuthentication(service: RuntimeService): CustomResourceShape {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "PeerAuthentication",
    metadata: { name: `${service.name}-strict`, namespace: service.namespace },
    spec: { selector: { matchLabels: podSelector(service) }, mtls: { mode: "STRICT" } },
  };
}

function destinationRule(service: RuntimeService): CustomResourceShape {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: service.name, namespace: service.namespace },
    spec: { host: serviceHost(service), trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
  };
}

/**
 * Per-route ALLOW rules for one service (model/security/routes.ts): the gateway may call its public routes only;
 * catalogued service callers every route but the admin ones; the operator identity the admin routes; the gateway's
 * health aggregator the service's readiness path.
 */
function authorizationPolicy(spec: EstateSpec, service: RuntimeService): CustomResourceShape {
  const td = spec.pki.trustDomain;
  const routes = SERVICE_ROUTES[service.name];
  const ports = service.ports.map((p) => String(p.port));
  const principal = (id: WorkloadIdentity) => istioPrincipal(spiffeId(td, id));
  // Catalogued services and SPIRE's own identities (the server, for node attestation) call every route but the admin ones.
  // A caller with an identity per region (the rate limiters) is admitted by each region's ID.
  const regionIds = spec.regions.map((r) => r.id);
  const services = [...new Set(service.callers.filter((c) => "service" in c || "spire" in c).flatMap((c) => callerSpiffeIds(td, c, regionIds).map(istioPrincipal)))].sort();
  const gatewayCalls = service.callers.some((c) => "identity" in c && c.identity.namespace === GATEWAY_IDENTITY.namespace && c.identity.serviceAccount === GATEWAY_IDENTITY.serviceAccount);
  const rules: Record<string, unknown>[] = [];
  if (gatewayCalls) {
    rules.push({ from: [{ source: { principals: [principal(GATEWAY_IDENTITY)] } }], to: routes.public.map((r) => ({ operation: { ports, methods: r.methods, paths: r.paths } })) });
  }
  if (services.length > 0) {
    rules.push({ from: [{ source: { principals: services } }], to: [{ operation: { ports, ...(routes.admin.length ? { notPaths: routes.admin } : {}) } }] });
  }
  if (routes.admin.length > 0) {
    rules.push({ from: [{ source: { principals: [principal(OPERATOR_IDENTITY)] } }], to: [{ operation: { ports, paths: routes.admin } }] });
  }
  // The gateway's health aggregator asks the service's own readiness, and nothing else.
  const readiness = healthProbePaths(spec)[service.name];
  if (readiness) {
    rules.push({ from: [{ source: { principals: [principal(HEALTH_IDENTITY)] } }], to: [{ operation: { ports, methods: ["GET", "HEAD"], paths: [readiness] } }] });
  }
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: `${service.name}-callers`, namespace: service.namespace },
    spec: { selector: { matchLabels: podSelector(service) }, action: "ALLOW", rules },
  };
}

/**
 * The grandmaster's admin API: /status for any identity of the trust domain; the simulator's drills (`local` only) for
 * the operator. A cloud region's relay serves no drills, so its policy allows /status alone.
 */
function grandmasterAuthorization(spec: EstateSpec, grandmaster: boolean): CustomResourceShape[] {
  const td = spec.pki.trustDomain;
  const port = String(GRANDMASTER.adminPort);
  const drills =
    grandmasterMode(spec) === "simulator"
      ? [{ from: [{ source: { principals: [istioPrincipal(spiffeId(td, OPERATOR_IDENTITY))] } }], to: [{ operation: { ports: [port], paths: [...GRANDMASTER_ROUTES.admin] } }] }]
      : [];
  return [{ apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: "default-deny", namespace: NAMESPACES.time }, spec: {} }].concat(
    grandmaster
      ? [
          {
            // Its app reads callers from the sidecar's XFCC (components/time/grandmaster.ts): STRICT whatever the mesh default.
            apiVersion: "security.istio.io/v1",
            kind: "PeerAuthentication",
            metadata: { name: "grandmaster-strict", namespace: NAMESPACES.time },
            spec: { selector: { matchLabels: GRANDMASTER_POD_SELECTOR }, mtls: { mode: "STRICT" } },
          },
          {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: "grandmaster-admin", namespace: NAMESPACES.time },
            spec: {
              selector: { matchLabels: { app: GRANDMASTER.name } },
              action: "ALLOW",
              rules: [
                {
                  from: [{ source: { principals: [`${td}/*`] } }],
                  to: [{ operation: { ports: [port], methods: [...GRANDMASTER_ROUTES.status.methods], paths: [...GRANDMASTER_ROUTES.status.paths] } }],
                },
                ...drills,
              ],
            },
          },
        ]
      : [],
  );
}
