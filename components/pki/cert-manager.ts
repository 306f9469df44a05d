/**
 * CertManager (`meridian:pki:CertManager`): cert-manager on one regional cluster — the chart with its CRDs and
 * auto-approval off (approver-policy decides, see approval.ts), ACME ClusterIssuers for Let's Encrypt staging and
 * production whose DNS-01 solver matches the provider serving the zone, the private chain's cluster end (this
 * region's intermediate, signed offline by the root, as the `meridian-intermediate` CA ClusterIssuer for SPIRE and
 * internal TLS), and the gateway's public Certificate with its staggered renewal.
 * Invariant: the root's private key never reaches a cluster; only the root certificate does, as `ca.crt`.
 * Every custom resource depends on the chart release, so none is applied before its CRD exists.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import {
  ACME_SERVERS,
  GATEWAY_CERTIFICATE,
  INTERMEDIATE_ISSUER,
  ROOT_CA_CERT_KEY,
  SOLVER_SECRET,
  acmeIssuerName,
  dns01Solver,
  gatewayIssuer,
  gatewayDnsNames,
  intermediateKeys,
  intermediateSecret,
  solverBlock,
  type AcmeEnvironment,
  type Dns01Solver,
} from "../../model/rotation/issuers.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { Approval } from "./approval.js";
import { PART_OF, customResource, release, type CustomResourceShape } from "./charts.js";

export interface CertManagerArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** The gateway certificate's renewBefore: the region's rotation wave sets it (model/rotation). */
  gatewayRenewBefore: string;
}

const issuerRef = (name: string) => ({ name, kind: "ClusterIssuer", group: "cert-manager.io" });

export class CertManager extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  /** The ClusterIssuer that signs internal TLS and SPIRE's CA with this region's intermediate. */
  public readonly intermediateIssuer: k8s.apiextensions.CustomResource;
  public readonly gatewayCertificate: k8s.apiextensions.CustomResource;
  public readonly customResources: k8s.apiextensions.CustomResource[] = [];
  public readonly approval: Approval;

  constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:CertManager", name, {}, opts);
    const { spec, region, cluster } = args;
    const child = { parent: this, provider: cluster.provider };
    const config = new pulumi.Config("meridian");

    this.release = release(
      `${region.id}-cert-manager`,
      "certManager",
      cluster.namespaces.certManager.metadata.name,
      {
        crds: { enabled: true },
        // Nothing is approved by cert-manager itself: approver-policy approves only what a policy allows.
        disableAutoApproval: true,
        prometheus: { enabled: true, servicemonitor: { enabled: true } },
        // Check DNS-01 propagation against public resolvers: split-horizon cluster DNS would never see the TXT record.
        dns01RecursiveNameserversOnly: true,
        dns01RecursiveNameservers: "1.1.1.1:53,8.8.8.8:53",
      },
      child,
      spec.imageDigests,
    );
    const afterChart = { ...child, dependsOn: [this.release] };
    this.approval = new Approval(`${region.id}-approval`, { spec, region, cluster, certManager: this.release }, { parent: this });

    const solver = dns01Solver(spec);
    if (solver !== null) {
      new k8s.core.v1.Secret(
        `${region.id}-${SOLVER_SECRET}`,
        {
          metadata: { name: SOLVER_SECRET, namespace: cluster.namespaces.certManager.metadata.name, labels: { ...PART_OF } },
          type: "Opaque",
          stringData: Object.fromEntries(solver.credentials.map((c) => [c.secretKey, config.requireSecret(c.configKey)])),
        },
        child,
      );
      for (const env of Object.keys(ACME_SERVERS) as AcmeEnvironment[]) {
        this.customResources.push(customResource(`${region.id}-${acmeIssuerName(env)}`, acmeClusterIssuer(spec, env, solver), afterChart));
      }
    }

    // The region's intermediate, signed offline (`meridian pki sign`): chain and key from secret config, and the
    // root certificate as ca.crt so issued chains end in the trust anchor every region shares.
    const keys = intermediateKeys(region);
    const intermediate = new k8s.core.v1.Secret(
      `${region.id}-${intermediateSecret(region)}`,
      {
        metadata: { name: intermediateSecret(region), namespace: cluster.namespaces.certManager.metadata.name, labels: { ...PART_OF, "meridian.dev/ca": "intermediate" } },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": config.requireSecret(keys.cert), "tls.key": config.requireSecret(keys.key), "ca.crt": config.requireSecret(ROOT_CA_CERT_KEY) },
      },
      child,
    );
    this.intermediateIssuer = customResource(
      `${region.id}-${INTERMEDIATE_ISSUER}`,
      { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: INTERMEDIATE_ISSUER }, spec: { ca: { secretName: intermediateSecret(region) } } },
      { ...afterChart, dependsOn: [this.release, intermediate, this.approval.release] },
    );

    this.gatewayCertificate = customResource(
      `${region.id}-${GATEWAY_CERTIFICATE}`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: GATEWAY_CERTIFICATE, namespace: NAMESPACES.gateway, labels: { "meridian.dev/region": region.id } },
        spec: {
          secretName: GATEWAY_CERTIFICATE,
          dnsNames: gatewayDnsNames(spec, region),
          duration: spec.pki.certificate.duration,
          renewBefore: args.gatewayRenewBefore,
          privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
          usages: ["server auth", "digital signature"],
          issuerRef: issuerRef(gatewayIssuer(spec)),
          // Earlier CertificateRequests are the record a rollback restores from.
          revisionHistoryLimit: 3,
        },
      },
      { ...afterChart, dependsOn: [this.release, this.approval.release, cluster.namespaces.gateway, ...(solver === null ? [this.intermediateIssuer] : [])] },
    );

    this.customResources.push(this.intermediateIssuer, this.gatewayCertificate);
    this.registerOutputs({ intermediateIssuer: INTERMEDIATE_ISSUER, gatewayCertificate: GATEWAY_CERTIFICATE });
  }
}

/** A Let's Encrypt ClusterIssuer with the zone's DNS-01 solver, credentials referenced from SOLVER_SECRET. */
function acmeClusterIssuer(spec: EstateSpec, env: AcmeEnvironment, solver: Dns01Solver): CustomResourceShape {
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: acmeIssuerName(env) },
    spec: {
      acme: {
        email: spec.pki.acme.email,
        server: ACME_SERVERS[env],
        privateKeySecretRef: { name: `${acmeIssuerName(env)}-account-key` },
        solvers: [{ selector: { dnsZones: [spec.dns.apex] }, dns01: { [solver.field]: solverBlock(solver) } }],
      },
    },
  };
}
