/**
 * Who may get which certificate: cert-manager runs with `disableAutoApproval`, and approver-policy approves a
 * CertificateRequest only when a CertificateRequestPolicy matches its issuer and namespace, allows everything it
 * asks for, and the requester may `use` that policy (RBAC). Everything else stays unapproved and is never signed.
 *   - `meridian-spire-ca`: SPIRE's server (service account spire-system/spire-server) may ask the regional
 *     intermediate for its X.509 CA: isCA, the trust domain's own SPIFFE ID, cert/CRL sign, at most SPIRE's CA TTL.
 *   - `meridian-gateway-tls`: cert-manager may ask the gateway's issuer for the gateway's names only, as a
 *     server-auth leaf in the gateway namespace.
 *   - `meridian-spire-attest-client` (stacks endorsing TPM nodes): cert-manager may ask the regional intermediate,
 *     in SPIRE's namespace, for a client-auth leaf naming exactly the SPIRE server's SPIFFE ID, for at most a day —
 *     the certificate SPIRE's meridian_attest plugin presents to the attestation verifier (spire-attest.ts).
 * The policies are data (pure functions) so tests validate them against the CertificateRequestPolicy CRD.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { GATEWAY_CERTIFICATE, INTERMEDIATE_ISSUER, gatewayDnsNames, gatewayIssuer } from "../../model/rotation/issuers.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { PART_OF, customResource, release, type CustomResourceShape } from "./charts.js";
import { ATTEST_CLIENT_CERTIFICATE, ATTEST_CLIENT_TTL, attestedAdmission, spireServerSpiffeId } from "./spire-attest.js";

/** SPIRE server's CA lifetime (chart value `caTTL`) and key; the policy allows no longer and no other key. */
export const SPIRE_CA_TTL = "24h";
export const SPIRE_CA_KEY_TYPE = "ec-p256";
/** The spire chart's server service account (fullname of the `spire` release's spire-server). */
const SPIRE_SERVER_ACCOUNT = { namespace: NAMESPACES.spire, name: "spire-server" } as const;
/** cert-manager's controller, which files the CertificateRequests of Certificate resources. */
const CERT_MANAGER_ACCOUNT = { namespace: NAMESPACES.certManager, name: "cert-manager" } as const;

export interface PolicyGrant {
  policy: CustomResourceShape;
  /** Namespace whose RoleBinding lets `account` use the policy (approver-policy checks the requester's RBAC). */
  namespace: string;
  account: { namespace: string; name: string };
}

const exactly = (values: string[]) => ({ values, required: true });

function spireCaPolicy(spec: EstateSpec): PolicyGrant {
  return {
    namespace: NAMESPACES.spire,
    account: SPIRE_SERVER_ACCOUNT,
    policy: {
      apiVersion: "policy.cert-manager.io/v1alpha1",
      kind: "CertificateRequestPolicy",
      metadata: { name: "meridian-spire-ca" },
      spec: {
        allowed: {
          isCA: true,
          uris: exactly([`spiffe://${spec.pki.trustDomain}`]),
          commonName: { value: spec.pki.trustDomain },
          subject: { organizations: { values: ["Meridian"] }, countries: { values: ["US"] } },
          usages: ["cert sign", "crl sign"],
        },
        constraints: { maxDuration: SPIRE_CA_TTL, privateKey: { algorithm: "ECDSA", minSize: 256, maxSize: 256 } },
        selector: {
          issuerRef: { name: INTERMEDIATE_ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" },
          namespace: { matchNames: [NAMESPACES.spire] },
        },
      },
    },
  };
}

function gatewayPolicy(spec: EstateSpec, region: Region): PolicyGrant {
  return {
    namespace: NAMESPACES.gateway,
    account: CERT_MANAGER_ACCOUNT,
    policy: {
      apiVersion: "policy.cert-manager.io/v1alpha1",
      kind: "CertificateRequestPolicy",
      metadata: { name: GATEWAY_CERTIFICATE },
      spec: {
        allowed: { dnsNames: exactly(gatewayDnsNames(spec, region)), usages: ["server auth", "digital signature"] },
        constraints: { maxDuration: spec.pki.certificate.duration, privateKey: { algorithm: "ECDSA", minSize: 256, maxSize: 256 } },
        selector: {
          issuerRef: { name: gatewayIssuer(spec), kind: "ClusterIssuer", group: "cert-manager.io" },
          namespace: { matchNames: [NAMESPACES.gateway] },
        },
      },
    },
  };
}

function attestClientPolicy(spec: EstateSpec): PolicyGrant {
  return {
    namespace: NAMESPACES.spire,
    account: CERT_MANAGER_ACCOUNT,
    policy: {
      apiVersion: "policy.cert-manager.io/v1alpha1",
      kind: "CertificateRequestPolicy",
      metadata: { name: ATTEST_CLIENT_CERTIFICATE },
      spec: {
        allowed: { uris: exactly([spireServerSpiffeId(spec)]), usages: ["client auth", "digital signature"] },
        constraints: { maxDuration: ATTEST_CLIENT_TTL, privateKey: { algorithm: "ECDSA", minSize: 256, maxSize: 256 } },
        selector: {
          issuerRef: { name: INTERMEDIATE_ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" },
          namespace: { matchNames: [NAMESPACES.spire] },
        },
      },
    },
  };
}

function policyGrants(spec: EstateSpec, region: Region): PolicyGrant[] {
  return [spireCaPolicy(spec), gatewayPolicy(spec, region), ...(attestedAdmission(spec) ? [attestClientPolicy(spec)] : [])];
}

export interface ApprovalArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** The cert-manager release: approver-policy's webhook and CRDs come after it. */
  certManager: pulumi.Resource;
}

/** approver-policy on one cluster, its policies and the RBAC that binds each to its one requester. */
export class Approval extends pulumi.ComponentResource {
  public readonly release: k8s.helm.v3.Release;
  public readonly policies: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: ApprovalArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:pki:Approval", name, {}, opts);
    const { spec, region, cluster } = args;
    const child = { parent: this, provider: cluster.provider };
    this.release = release(
      `${region.id}-approver-policy`,
      "approverPolicy",
      cluster.namespaces.certManager.metadata.name,
      { crds: { enabled: true, keep: true }, app: { metrics: { service: { servicemonitor: { enabled: true } } } } },
      { ...child, dependsOn: [args.certManager] },
      spec.imageDigests,
    );
    this.policies = policyGrants(spec, region).map((grant) => {
      const policyName = grant.policy.metadata.name;
      const policy = customResource(`${region.id}-crp-${policyName}`, grant.policy, { ...child, dependsOn: [this.release] });
      const role = new k8s.rbac.v1.ClusterRole(
        `${region.id}-use-${policyName}`,
        {
          metadata: { name: `meridian-use-${policyName}`, labels: { ...PART_OF } },
          rules: [{ apiGroups: ["policy.cert-manager.io"], resources: ["certificaterequestpolicies"], verbs: ["use"], resourceNames: [policyName] }],
        },
        child,
      );
      new k8s.rbac.v1.RoleBinding(
        `${region.id}-use-${policyName}`,
        {
          metadata: { name: `meridian-use-${policyName}`, namespace: grant.namespace, labels: { ...PART_OF } },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
          subjects: [{ kind: "ServiceAccount", name: grant.account.name, namespace: grant.account.namespace }],
        },
        child,
      );
      return policy;
    });
    this.registerOutputs({});
  }
}
