/**
 * MeshTls (`meridian:pki:MeshTls`): Istio on one regional cluster with workload certificates from SPIRE
 * (istiod's trust domain is the environment's; sidecars read SVIDs from the SPIFFE CSI socket), a mesh-wide
 * PeerAuthentication in the root namespace (STRICT in prod), an ISTIO_MUTUAL DestinationRule per runtime
 * service, a namespace default-deny, and one ALLOW AuthorizationPolicy per service listing exactly the
 * SPIFFE identities model/services lets call it. Invariant: no principal reaches a runtime service port
 * unless the catalogue names it as a caller.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { RUNTIME_SERVICES, allowedCallerIds, istioPrincipal, podSelector, serviceHost, type RuntimeService } from "../../model/services.js";
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
  public readonly istiod: k8s.helm.v3.Release;
  public readonly customResources: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: MeshTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:MeshTls", name, {}, opts);
    const { spec, region, cluster } = args;
    const child = { parent: this, provider: cluster.provider };
    const istioNs = cluster.namespaces.istio.metadata.name;

    const base = release(`${region.id}-istio-base`, "istioBase", istioNs, { defaultRevision: "default" }, child);
    // The CNI agent must be on every node before injected pods start: their init container only validates its redirection.
    const cni = release(`${region.id}-istio-cni`, "istioCni", istioNs, istioCniValues(region), { ...child, dependsOn: [base] });
    this.istiod = release(`${region.id}-istiod`, "istiod", istioNs, istiodValues(spec, region), { ...child, dependsOn: [base, cni, args.spire] });
    const after = { ...child, dependsOn: [base, this.istiod] };

    this.customResources = meshPolicies(spec).map((shape) => {
      const scope = shape.metadata.namespace === NAMESPACES.istio ? "mesh" : String(shape.metadata.namespace);
      return customResource(`${region.id}-${scope}-${shape.kind.toLowerCase()}-${shape.metadata.name}`, shape, after);
    });
    this.registerOutputs({});
  }
}

/** What the injector renders into pods (model/security/istio-injection.ts models the result for Pod Security checks). */
export const ISTIO_INJECTION: InjectionValues = { cni: true, seccompProfile: { type: "RuntimeDefault" } };

export function istiodValues(spec: EstateSpec, region: Region): Record<string, unknown> {
  return {
    global: {
      meshID: `meridian-${spec.environment}`,
      multiCluster: { clusterName: region.id },
      network: region.id,
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
export function istioCniValues(region: Region): Record<string, unknown> {
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
  ];
}

function destinationRule(service: RuntimeService): CustomResourceShape {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: service.name, namespace: service.namespace },
    spec: { host: serviceHost(service), trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
  };
}

function authorizationPolicy(spec: EstateSpec, service: RuntimeService): CustomResourceShape {
  return {
    apiVersion: "security.istio.io/v1",
    kind: "AuthorizationPolicy",
    metadata: { name: `${service.name}-callers`, namespace: service.namespace },
    spec: {
      selector: { matchLabels: podSelector(service) },
      action: "ALLOW",
      rules: [
        {
          from: [{ source: { principals: allowedCallerIds(spec.pki.trustDomain, service.name).map(istioPrincipal) } }],
          to: [{ operation: { ports: service.ports.map((p) => String(p.port)) } }],
        },
      ],
    },
  };
}
