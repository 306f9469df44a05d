/**
 * Spire (`meridian:pki:Spire`): SPIFFE identities on one regional cluster — the `spire-crds` chart, then the
 * `spire` chart (server, agents, CSI driver, controller manager) with the environment's trust domain, the
 * region as cluster name, short-lived X.509 SVIDs, and cert-manager's `meridian-intermediate` as upstream
 * authority; then one ClusterSPIFFEID per runtime service (and the ingress gateway) from model/services. When the
 * stack endorses TPM nodes, agents are admitted only by attestation (spire-attest.ts): the `meridian_attest`
 * NodeAttestor replaces k8s_psat and the workloads are ClusterStaticEntries under the attested-node alias.
 *
 * Topology: one trust domain per environment, one independent SPIRE server per region, all chained to the
 * same offline root through cert-manager (root → regional intermediate → SPIRE server CA → SVID). Every
 * agent's bundle therefore verifies X.509 SVIDs minted in any region without SPIFFE federation (which joins
 * *different* trust domains) and without a nested root SPIRE server every region would depend on at runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { INTERMEDIATE_ISSUER } from "../../model/rotation/issuers.js";
import {
  GATEWAY_IDENTITY,
  GATEWAY_POD_SELECTOR,
  OPERATOR_IDENTITY,
  OPERATOR_POD_SELECTOR,
  RUNTIME_SERVICES,
  SPIFFE_ID_TEMPLATE,
  podSelector,
  regionIdentity,
  serviceHost,
  type WorkloadIdentity,
} from "../../model/services.js";
import { HEALTH_IDENTITY, HEALTH_POD_SELECTOR, REPLICATION_MONITOR, REPLICATION_MONITOR_IDENTITY, REPLICATION_MONITOR_POD_SELECTOR } from "../../model/workloads/gateway.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { SPIRE_CA_KEY_TYPE, SPIRE_CA_TTL } from "./approval.js";
import { GRANDMASTER_IDENTITY, GRANDMASTER_POD_SELECTOR } from "../../model/security/mesh-identity.js";
import { customResource, release, type CustomResourceShape } from "./charts.js";
import { ATTEST_CLIENT_CERTIFICATE, attestClientCertificate, attestedAdmission, attestedWorkloadEntry, attestValues, nodeAliasEntries } from "./spire-attest.js";
import { tpmDeviceDaemonSet, tpmDeviceNamespace, tpmDeviceNetworkPolicy, tpmDeviceServiceAccount } from "./spire-tpm-device.js";

export interface SpireArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** cert-manager's release, the intermediate ClusterIssuer SPIRE's upstream authority signs with, and the policy approving it. */
  upstream: pulumi.Resource[];
}

/** The controller manager only reconciles ClusterSPIFFEIDs of its class, so other installs cannot collide. */
const SPIRE_CLASS = "meridian-spire";

export class Spire extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly trustDomain: string;
  public readonly customResources: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: SpireArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:Spire", name, {}, opts);
    const { spec, region, cluster } = args;
    const child = { parent: this, provider: cluster.provider };
    const namespace = cluster.namespaces.spire.metadata.name;
    this.trustDomain = spec.pki.trustDomain;

    const crds = release(`${region.id}-spire-crds`, "spireCrds", namespace, {}, child, spec.imageDigests);
    // The server plugin's client certificate for the verifier: its Secret must exist before the server pod mounts it.
    const clientCertificate = attestedAdmission(spec)
      ? [customResource(`${region.id}-${ATTEST_CLIENT_CERTIFICATE}`, attestClientCertificate(spec, region), { ...child, dependsOn: args.upstream })]
      : [];
    // The agents' TPM resource must be advertised before they roll out: the release waits (atomic) for them.
    const tpmDevices = attestedAdmission(spec) ? [tpmDevicePlugin(region, spec, child)] : [];
    this.release = release(
      `${region.id}-spire`,
      "spire",
      namespace,
      spireValues(spec, region),
      { ...child, dependsOn: [crds, ...args.upstream, ...clientCertificate, ...tpmDevices] },
      spec.imageDigests,
    );

    const after = { ...child, dependsOn: [crds, this.release] };
    this.customResources = attestedAdmission(spec)
      ? [
          ...clientCertificate,
          ...nodeAliasEntries(spec, region, SPIRE_CLASS).map((e) => customResource(`${region.id}-${e.metadata.name}`, e, after)),
          ...spiffeWorkloads(region.id).map((w) => customResource(`${region.id}-spiffeid-${w.name}`, attestedWorkloadEntry(spec, region, SPIRE_CLASS, w), after)),
        ]
      : spiffeWorkloads(region.id).map((workload) => customResource(`${region.id}-spiffeid-${workload.name}`, clusterSpiffeId(spec, workload), after));
    this.registerOutputs({ trustDomain: this.trustDomain });
  }
}

/** The TPM device plugin's namespace, account, deny-all policy and DaemonSet (spire-tpm-device.ts); the DaemonSet. */
function tpmDevicePlugin(region: Region, spec: EstateSpec, opts: pulumi.CustomResourceOptions): k8s.apps.v1.DaemonSet {
  const ns = new k8s.core.v1.Namespace(`${region.id}-tpm-devices`, tpmDeviceNamespace(), opts);
  const inNs = { ...opts, dependsOn: [ns] };
  const policy = new k8s.networking.v1.NetworkPolicy(`${region.id}-tpm-devices-default-deny`, tpmDeviceNetworkPolicy(), inNs);
  const account = new k8s.core.v1.ServiceAccount(`${region.id}-tpm-device-plugin`, tpmDeviceServiceAccount(), inNs);
  return new k8s.apps.v1.DaemonSet(`${region.id}-tpm-device-plugin`, tpmDeviceDaemonSet(spec), { ...opts, dependsOn: [ns, policy, account] });
}

export function spireValues(spec: EstateSpec, region: Region): Record<string, unknown> {
  const telemetry = { prometheus: { enabled: true } };
  const attest = attestedAdmission(spec) ? attestValues(spec) : { server: {}, agent: {} };
  return {
    global: {
      spire: {
        trustDomain: spec.pki.trustDomain,
        clusterName: region.id,
        recommendations: { enabled: true },
        namespaces: { create: false, system: { name: NAMESPACES.spire }, server: { name: NAMESPACES.spire } },
        caSubject: { country: "US", organization: "Meridian", commonName: spec.pki.trustDomain },
      },
    },
    "spire-server": {
      defaultX509SvidTTL: spec.pki.svidTtl,
      // The CA SPIRE asks the intermediate for: approver-policy's meridian-spire-ca allows exactly this key and TTL.
      caKeyType: SPIRE_CA_KEY_TYPE,
      caTTL: SPIRE_CA_TTL,
      upstreamAuthority: {
        // Chart 0.27 renamed issuer_name/issuer_kind/issuer_group and `fail`s on the old keys. The issuer is the
        // ClusterIssuer CertManager creates from the region's offline-signed intermediate; the CertificateRequests
        // SPIRE files for its CA live in SPIRE's own namespace, where approver-policy lets only SPIRE's server ask.
        certManager: { enabled: true, issuerName: INTERMEDIATE_ISSUER, issuerKind: "ClusterIssuer", issuerGroup: "cert-manager.io", namespace: NAMESPACES.spire, rbac: { create: true } },
      },
      federation: { enabled: false },
      controllerManager: {
        enabled: true,
        className: SPIRE_CLASS,
        // Identities come only from the ClusterSPIFFEIDs below: no catch-all default, no test keys.
        identities: { clusterSPIFFEIDs: { default: { enabled: false }, "test-keys": { enabled: false } } },
      },
      telemetry,
      ...attest.server,
    },
    "spire-agent": { telemetry, ...attest.agent },
    // Off: it serves JWT-SVID keys, and Meridian uses X.509-SVIDs only (model/images/charts.ts DISABLED_PARTS).
    "spiffe-oidc-discovery-provider": { enabled: false },
  };
}

/** A workload that gets a SPIFFE ID: the ingress gateway, its health aggregator, the operator identity and every catalogued runtime service. */
export interface SpiffeWorkload {
  name: string;
  identity: WorkloadIdentity;
  selector: Record<string, string>;
  host?: string;
}

function spiffeWorkloads(regionId: string): SpiffeWorkload[] {
  return [
    { name: "gateway", identity: GATEWAY_IDENTITY, selector: GATEWAY_POD_SELECTOR },
    { name: "operator", identity: OPERATOR_IDENTITY, selector: OPERATOR_POD_SELECTOR },
    { name: "health", identity: HEALTH_IDENTITY, selector: HEALTH_POD_SELECTOR },
    {
      name: REPLICATION_MONITOR.name,
      identity: REPLICATION_MONITOR_IDENTITY,
      selector: REPLICATION_MONITOR_POD_SELECTOR,
      host: `${REPLICATION_MONITOR.name}.${REPLICATION_MONITOR.namespace}.svc.cluster.local`,
    },
    // This region's identity of each service (the rate limiter's is its own in every region: regionIdentity).
    ...RUNTIME_SERVICES.map((s) => ({ name: s.name, identity: regionIdentity(s, regionId), selector: podSelector(s), host: serviceHost(s) })),
    // The grandmaster simulator (components/time): meshed, so its sidecar needs an SVID, which its config names.
    { name: "grandmaster", identity: GRANDMASTER_IDENTITY, selector: GRANDMASTER_POD_SELECTOR },
  ];
}

/** A ClusterSPIFFEID (spire.spiffe.io/v1alpha1) granting one workload identity its SPIFFE ID. */
function clusterSpiffeId(spec: EstateSpec, workload: SpiffeWorkload): CustomResourceShape {
  const { name, identity, selector, host } = workload;
  return {
    apiVersion: "spire.spiffe.io/v1alpha1",
    kind: "ClusterSPIFFEID",
    metadata: { name: `meridian-${name}` },
    spec: {
      className: SPIRE_CLASS,
      spiffeIDTemplate: SPIFFE_ID_TEMPLATE,
      podSelector: { matchLabels: selector },
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": identity.namespace } },
      // Only pods that actually run as the catalogued service account get the identity.
      workloadSelectorTemplates: [`k8s:sa:${identity.serviceAccount}`],
      ttl: spec.pki.svidTtl,
      ...(host ? { dnsNameTemplates: [host] } : {}),
    },
  };
}
