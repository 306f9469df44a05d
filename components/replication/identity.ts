/**
 * The cloud identity of one replication workload (a Job, the rotation CronJob, the lag monitor): what lets
 * its pods read — and, for the rotation, write — exactly the secrets it names, with no static key. One
 * identity per Kubernetes service account, granted on each secret by itself (least privilege):
 *  - EKS: an IAM role trusting `pods.eks.amazonaws.com` (sts:AssumeRole + sts:TagSession), an inline
 *    policy allowing secretsmanager:GetSecretValue (and PutSecretValue where it writes) on those secrets'
 *    ARNs only, and a Pod Identity association of the role with the service account;
 *  - GKE: a Google service account, `roles/iam.workloadIdentityUser` on it for the service account's
 *    workload-pool member, and on each secret `roles/secretmanager.secretAccessor` (plus
 *    `secretVersionAdder` where it writes); the service account is annotated `iam.gke.io/gcp-service-account`;
 *  - AKS: a user-assigned identity, a federated credential trusting the cluster's OIDC issuer for
 *    `system:serviceaccount:<ns>:<sa>`, and on each secret "Key Vault Secrets User" (reads) or "Key Vault
 *    Secrets Officer" (writes: the narrowest built-in role that may set a secret); the service account is
 *    annotated `azure.workload.identity/client-id` and its pods labelled `azure.workload.identity/use`.
 * Secrets on another cloud than the cluster's are not granted here (that needs cross-cloud federation:
 * docs/deploy.md, "Not yet"); `crossCloud` lists them.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import { NAMESPACES, type EstateSpec } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { azureSubscription, cloudSecretOf, type CloudSecret } from "./credentials.js";

/** Key Vault built-in roles (https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security). */
export const KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
const KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
/** The audience AKS workload identity's projected token carries. */
const AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange";

export interface SecretGrant {
  ref: pulumi.Output<string>;
  write: boolean;
}

export interface WorkloadIdentity {
  /** For the Kubernetes ServiceAccount's metadata. */
  annotations: Record<string, pulumi.Output<string>>;
  /** For the pods' template. */
  podLabels: Record<string, string>;
  /** Secrets on another cloud, not granted. */
  crossCloud: CloudSecret[];
}

/** A Google service account id (6-30 chars, RFC 1035): a readable prefix and a hash of what it is for. */
export function gcpAccountId(regionId: string, serviceAccount: string): string {
  const hash = createHash("sha256").update(`${regionId}/${serviceAccount}`).digest("hex").slice(0, 6);
  const stem = serviceAccount
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 20)
    .replace(/-+$/, "");
  return `m-${stem}-${hash}`;
}

/** The AWS IAM role name (≤ 64 characters). */
function roleName(spec: EstateSpec, regionId: string, serviceAccount: string): string {
  const name = `meridian-${spec.environment}-${regionId}-${serviceAccount}`;
  return name.length <= 64 ? name : `${name.slice(0, 57)}-${createHash("sha256").update(name).digest("hex").slice(0, 6)}`;
}

/** Merge grants on the same secret (a write implies the read). */
function merged(grants: readonly SecretGrant[]): { secret: CloudSecret; write: boolean }[] {
  const out = new Map<CloudSecret, boolean>();
  for (const g of grants) {
    const s = cloudSecretOf(g.ref);
    out.set(s, (out.get(s) ?? false) || g.write);
  }
  return [...out].map(([secret, write]) => ({ secret, write }));
}

export function workloadIdentity(spec: EstateSpec, cluster: RegionCluster, serviceAccount: string, grants: readonly SecretGrant[], opts: pulumi.CustomResourceOptions): WorkloadIdentity {
  const region = cluster.region;
  const all = merged(grants);
  const here = all.filter((g) => g.secret.cloud === region.cloud);
  const crossCloud = all.filter((g) => g.secret.cloud !== region.cloud).map((g) => g.secret);
  const name = `${region.id}-${serviceAccount}`;
  const settings = spec.replication.identity;
  const ns = NAMESPACES.runtime;
  if (here.length === 0) return { annotations: {}, podLabels: {}, crossCloud };

  if (region.cloud === "aws") {
    const role = new aws.iam.Role(
      name,
      {
        name: roleName(spec, region.id, serviceAccount),
        description: `Meridian replication: ${ns}/${serviceAccount} in ${region.id} (EKS Pod Identity)`,
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
        }),
      },
      opts,
    );
    const arns = (write: boolean) => here.filter((g) => !write || g.write).map((g) => (g.secret as Extract<CloudSecret, { cloud: "aws" }>).arn);
    const policy = pulumi.all([pulumi.all(arns(false)), pulumi.all(arns(true))]).apply(([read, write]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "ReadLogins", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: read },
          ...(write.length ? [{ Sid: "RotateLogins", Effect: "Allow", Action: ["secretsmanager:PutSecretValue"], Resource: write }] : []),
        ],
      }),
    );
    new aws.iam.RolePolicy(name, { role: role.name, name: "replication-secrets", policy }, opts);
    new aws.eks.PodIdentityAssociation(
      name,
      { region: region.region, clusterName: settings.aws.clusterNameTemplate.replaceAll("{region}", region.id), namespace: ns, serviceAccount, roleArn: role.arn },
      opts,
    );
    return { annotations: {}, podLabels: {}, crossCloud };
  }

  if (region.cloud === "gcp") {
    const project = /^projects\/([^/]+)\//.exec(spec.replication.network.gcp.privateNetwork)![1]!;
    const pool = settings.gcp.workloadPoolProject ?? project;
    const account = new gcp.serviceaccount.Account(
      name,
      { project, accountId: gcpAccountId(region.id, serviceAccount), displayName: `Meridian replication ${ns}/${serviceAccount} (${region.id})` },
      opts,
    );
    new gcp.serviceaccount.IAMMember(name, { serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser", member: `serviceAccount:${pool}.svc.id.goog[${ns}/${serviceAccount}]` }, opts);
    for (const g of here) {
      const s = g.secret as Extract<CloudSecret, { cloud: "gcp" }>;
      const roles = ["roles/secretmanager.secretAccessor", ...(g.write ? ["roles/secretmanager.secretVersionAdder"] : [])];
      for (const role of roles) {
        new gcp.secretmanager.SecretIamMember(`${name}-${s.secretId}-${role.split(".").pop()}`, { project: s.project, secretId: s.secretId, role, member: account.member }, opts);
      }
    }
    return { annotations: { "iam.gke.io/gcp-service-account": account.email }, podLabels: {}, crossCloud };
  }

  const azure = spec.replication.network.azure;
  const issuer = settings.azure.oidcIssuers[region.id];
  if (issuer === undefined) {
    throw new Error(
      `meridian:replication.identity.azure.oidcIssuers.${region.id} is not set: the AKS cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl), which the replication workloads' federated credentials trust`,
    );
  }
  const identity = new managedidentity.UserAssignedIdentity(name, { resourceGroupName: azure.resourceGroupName, location: region.region, resourceName: name }, opts);
  new managedidentity.FederatedIdentityCredential(
    name,
    {
      resourceGroupName: azure.resourceGroupName,
      resourceName: identity.name,
      federatedIdentityCredentialResourceName: serviceAccount,
      issuer,
      subject: `system:serviceaccount:${ns}:${serviceAccount}`,
      audiences: [AZURE_TOKEN_AUDIENCE],
    },
    opts,
  );
  const subscription = azureSubscription(azure.delegatedSubnetIdTemplate);
  for (const g of here) {
    const s = g.secret as Extract<CloudSecret, { cloud: "azure" }>;
    new authorization.RoleAssignment(
      `${name}-${s.scope.split("/").pop()}`,
      {
        principalId: identity.principalId,
        // A new identity may not have reached every directory replica yet; the type skips that lookup.
        principalType: "ServicePrincipal",
        roleDefinitionId: `${subscription}/providers/Microsoft.Authorization/roleDefinitions/${g.write ? KEY_VAULT_SECRETS_OFFICER : KEY_VAULT_SECRETS_USER}`,
        scope: s.scope,
      },
      opts,
    );
  }
  return { annotations: { "azure.workload.identity/client-id": identity.clientId }, podLabels: { "azure.workload.identity/use": "true" }, crossCloud };
}
