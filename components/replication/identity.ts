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
 * A secret on another cloud than the cluster's is read through workload identity federation, the pod's
 * projected service account token (issued by its cluster's OIDC issuer, for the audience the other cloud
 * expects) exchanged by runtime/replication/cloud-secrets.ts — per cloud holding the secret:
 *  - AWS: an IAM OIDC provider for the cluster's issuer (client id `sts.amazonaws.com`, one per issuer), and
 *    a role whose trust allows sts:AssumeRoleWithWebIdentity from that provider only when the token's `aud`
 *    is `sts.amazonaws.com` and its `sub` is `system:serviceaccount:<ns>:<sa>`; the same inline policy;
 *  - GCP: a workload identity pool per foreign cluster with one OIDC provider trusting its issuer
 *    (`google.subject` = the token's `sub`), and on each secret the same roles for the principal
 *    `principal://iam.googleapis.com/<pool>/subject/system:serviceaccount:<ns>:<sa>` (no service account
 *    to impersonate); the token's audience is the provider's full resource name;
 *  - Azure: a user-assigned identity with a federated credential trusting the foreign issuer for that
 *    subject (audience `api://AzureADTokenExchange`), and the same Key Vault role assignments.
 * The returned `federation` goes into the reading command's config and `volumes`/`mounts` project the tokens.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as gcp from "@pulumi/gcp";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import { NAMESPACES, type EstateSpec } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { FEDERATION_AUDIENCE, type Federation } from "../../runtime/replication/index.js";
import { cloudSecretOf, type CloudSecret } from "./credentials.js";
import { azureSubscriptionScope, type AzureNetworkSettings } from "../../model/network/azure.js";

/** Key Vault built-in roles (https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security). */
export const KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
const KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
/** The audience AKS workload identity's projected token carries. */
const AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange";

export interface SecretGrant {
  ref: pulumi.Output<string>;
  write: boolean;
}

/** Where the pods' projected tokens for other clouds are mounted (`<cloud>/token`). */
const FEDERATION_TOKEN_DIR = "/var/run/secrets/meridian/federation";
const FEDERATION_VOLUME = "federation-tokens";
/** Projected tokens live an hour (the kubelet refreshes them at 80%); each exchange reads the file afresh. */
const TOKEN_SECONDS = 3600;

export interface WorkloadIdentity {
  /** For the Kubernetes ServiceAccount's metadata. */
  annotations: Record<string, pulumi.Output<string>>;
  /** For the pods' template. */
  podLabels: Record<string, string>;
  /** For the reading command's config: how it reaches each other cloud's secrets (cloud-secrets.ts). */
  federation: pulumi.Output<Federation>;
  /** The projected-token volume (none when every secret is on the cluster's own cloud) and its mount. */
  volumes: k8s.types.input.core.v1.Volume[];
  mounts: { name: string; mountPath: string; readOnly: true }[];
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

/** The inline policy: GetSecretValue on every secret's ARN, PutSecretValue where it writes. */
function awsSecretsPolicy(grants: { secret: Extract<CloudSecret, { cloud: "aws" }>; write: boolean }[]): pulumi.Output<string> {
  const arns = (write: boolean) => grants.filter((g) => !write || g.write).map((g) => g.secret.arn);
  return pulumi.all([pulumi.all(arns(false)), pulumi.all(arns(true))]).apply(([read, write]) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ReadLogins", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: read },
        ...(write.length ? [{ Sid: "RotateLogins", Effect: "Allow", Action: ["secretsmanager:PutSecretValue"], Resource: write }] : []),
      ],
    }),
  );
}

/** Key Vault Secrets User (reads) or Officer (writes) on each secret by itself. */
function keyVaultRoles(
  name: string,
  principalId: pulumi.Output<string>,
  grants: { secret: Extract<CloudSecret, { cloud: "azure" }>; write: boolean }[],
  azure: AzureNetworkSettings,
  opts: pulumi.CustomResourceOptions,
): void {
  const subscription = azureSubscriptionScope(azure);
  for (const g of grants) {
    new authorization.RoleAssignment(
      `${name}-${g.secret.scope.split("/").pop()}`,
      {
        principalId,
        // A new identity may not have reached every directory replica yet; the type skips that lookup.
        principalType: "ServicePrincipal",
        roleDefinitionId: `${subscription}/providers/Microsoft.Authorization/roleDefinitions/${g.write ? KEY_VAULT_SECRETS_OFFICER : KEY_VAULT_SECRETS_USER}`,
        scope: g.secret.scope,
      },
      opts,
    );
  }
}

export function workloadIdentity(spec: EstateSpec, cluster: RegionCluster, serviceAccount: string, grants: readonly SecretGrant[], opts: pulumi.CustomResourceOptions): WorkloadIdentity {
  const region = cluster.region;
  const all = merged(grants);
  const here = all.filter((g) => g.secret.cloud === region.cloud);
  const name = `${region.id}-${serviceAccount}`;
  const fed = federated(
    spec,
    cluster,
    serviceAccount,
    all.filter((g) => g.secret.cloud !== region.cloud),
    opts,
  );
  const settings = spec.replication.identity;
  const ns = NAMESPACES.runtime;
  const done = (annotations: WorkloadIdentity["annotations"], podLabels: WorkloadIdentity["podLabels"]): WorkloadIdentity => ({ annotations, podLabels, ...fed });
  if (here.length === 0) return done({}, {});

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
    new aws.iam.RolePolicy(name, { role: role.name, name: "replication-secrets", policy: awsSecretsPolicy(here as { secret: Extract<CloudSecret, { cloud: "aws" }>; write: boolean }[]) }, opts);
    new aws.eks.PodIdentityAssociation(
      name,
      { region: region.region, clusterName: settings.aws.clusterNameTemplate.replaceAll("{region}", region.id), namespace: ns, serviceAccount, roleArn: role.arn },
      opts,
    );
    return done({}, {});
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
    return done({ "iam.gke.io/gcp-service-account": account.email }, {});
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
  keyVaultRoles(name, identity.principalId, here as { secret: Extract<CloudSecret, { cloud: "azure" }>; write: boolean }[], azure, opts);
  return done({ "azure.workload.identity/client-id": identity.clientId }, { "azure.workload.identity/use": "true" });
}

/** The OIDC issuer of a region's cluster: stack input for EKS and AKS, derived from the cluster's name for GKE. */
function clusterIssuer(spec: EstateSpec, region: EstateSpec["regions"][number]): string {
  const settings = spec.replication.identity;
  if (region.cloud === "gcp") {
    const project = settings.gcp.workloadPoolProject ?? /^projects\/([^/]+)\//.exec(spec.replication.network.gcp.privateNetwork)![1]!;
    return `https://container.googleapis.com/v1/projects/${project}/locations/${region.region}/clusters/${settings.gcp.clusterNameTemplate.replaceAll("{region}", region.id)}`;
  }
  const [issuers, key, how] =
    region.cloud === "aws"
      ? [settings.aws.oidcIssuers, "aws", "the EKS cluster's OIDC issuer URL (aws eks describe-cluster --query cluster.identity.oidc.issuer)"]
      : [settings.azure.oidcIssuers, "azure", "the AKS cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile.issuerUrl)"];
  const issuer = issuers[region.id];
  if (issuer === undefined) throw new Error(`meridian:replication.identity.${key}.oidcIssuers.${region.id} is not set: ${how}, which the replication workloads' federated credentials trust`);
  return issuer;
}

/** The Kubernetes subject a cluster's token carries for a service account of the runtime namespace. */
const serviceAccountSubject = (serviceAccount: string) => `system:serviceaccount:${NAMESPACES.runtime}:${serviceAccount}`;

/** Resources shared by every workload of one stack (an OIDC provider per issuer, a pool per cluster), made once. */
const shared = new WeakMap<EstateSpec, Map<string, unknown>>();
function once<T>(spec: EstateSpec, key: string, make: () => T): T {
  const m = shared.get(spec) ?? new Map<string, unknown>();
  shared.set(spec, m);
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}

const hashed = (s: string, n: number) => createHash("sha256").update(s).digest("hex").slice(0, n);
/** A workload identity pool id (4-32 of [a-z0-9-], not starting `gcp-`): one per foreign cluster. */
function workloadPoolId(environment: string, regionId: string): string {
  const id = `m-${environment}-${regionId}`.replace(/[^a-z0-9-]/g, "-");
  return id.length <= 32 ? id : `${id.slice(0, 25)}-${hashed(id, 6)}`;
}

function federated(
  spec: EstateSpec,
  cluster: RegionCluster,
  serviceAccount: string,
  grants: { secret: CloudSecret; write: boolean }[],
  opts: pulumi.CustomResourceOptions,
): Pick<WorkloadIdentity, "federation" | "volumes" | "mounts"> {
  if (grants.length === 0) return { federation: pulumi.output({}), volumes: [], mounts: [] };
  const region = cluster.region;
  const issuer = clusterIssuer(spec, region);
  const subject = serviceAccountSubject(serviceAccount);
  const name = `${region.id}-${serviceAccount}-federated`;
  const of = <C extends CloudSecret["cloud"]>(cloud: C) => grants.filter((g): g is { secret: Extract<CloudSecret, { cloud: C }>; write: boolean } => g.secret.cloud === cloud);
  const federation: { aws?: pulumi.Output<Federation["aws"]>; gcp?: pulumi.Output<Federation["gcp"]>; azure?: pulumi.Output<Federation["azure"]> } = {};
  const sources: { serviceAccountToken: { audience: pulumi.Input<string>; expirationSeconds: number; path: string } }[] = [];
  const token = (cloud: string, audience: pulumi.Input<string>) => {
    sources.push({ serviceAccountToken: { audience, expirationSeconds: TOKEN_SECONDS, path: `${cloud}/token` } });
    return `${FEDERATION_TOKEN_DIR}/${cloud}/token`;
  };

  const onAws = of("aws");
  if (onAws.length) {
    const host = issuer.replace(/^https:\/\//, "").replace(/\/$/, "");
    const provider = once(
      spec,
      `aws-oidc ${issuer}`,
      () => new aws.iam.OpenIdConnectProvider(`${region.id}-oidc`, { url: issuer, clientIdLists: [FEDERATION_AUDIENCE.aws], tags: { "app.kubernetes.io/part-of": "meridian" } }, opts),
    );
    const role = new aws.iam.Role(
      name,
      {
        name: roleName(spec, region.id, serviceAccount),
        description: `Meridian replication: ${subject} on the ${region.id} cluster (web identity federation)`,
        assumeRolePolicy: provider.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Federated: arn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: { StringEquals: { [`${host}:aud`]: FEDERATION_AUDIENCE.aws, [`${host}:sub`]: subject } },
              },
            ],
          }),
        ),
      },
      opts,
    );
    new aws.iam.RolePolicy(name, { role: role.name, name: "replication-secrets", policy: awsSecretsPolicy(onAws) }, opts);
    const tokenFile = token("aws", FEDERATION_AUDIENCE.aws);
    federation.aws = role.arn.apply((roleArn) => ({ roleArn, tokenFile }));
  }

  const onGcp = of("gcp");
  if (onGcp.length) {
    const projects = [...new Set(onGcp.map((g) => g.secret.project))];
    if (projects.length > 1) throw new Error(`${region.id}/${serviceAccount} reads GCP secrets in several projects (${projects.join(", ")}): one pool provider audience per token`);
    const project = projects[0]!;
    const poolId = workloadPoolId(spec.environment, region.id);
    const { pool, provider } = once(spec, `gcp-pool ${project} ${region.id}`, () => {
      const pool = new gcp.iam.WorkloadIdentityPool(`${region.id}-pool`, { project, workloadIdentityPoolId: poolId, displayName: `Meridian ${region.id} cluster`.slice(0, 32) }, opts);
      const provider = new gcp.iam.WorkloadIdentityPoolProvider(
        `${region.id}-pool`,
        {
          project,
          workloadIdentityPoolId: pool.workloadIdentityPoolId,
          workloadIdentityPoolProviderId: "cluster",
          displayName: `${region.id} OIDC issuer`.slice(0, 32),
          attributeMapping: { "google.subject": "assertion.sub" },
          oidc: { issuerUri: issuer },
        },
        opts,
      );
      return { pool, provider };
    });
    for (const g of onGcp) {
      for (const role of ["roles/secretmanager.secretAccessor", ...(g.write ? ["roles/secretmanager.secretVersionAdder"] : [])]) {
        new gcp.secretmanager.SecretIamMember(
          `${name}-${g.secret.secretId}-${role.split(".").pop()}`,
          { project: g.secret.project, secretId: g.secret.secretId, role, member: pulumi.interpolate`principal://iam.googleapis.com/${pool.name}/subject/${subject}` },
          opts,
        );
      }
    }
    // With no allowedAudiences the provider accepts its own full resource name as the token's audience.
    const audience = pulumi.interpolate`//iam.googleapis.com/${provider.name}`;
    const tokenFile = token("gcp", audience);
    federation.gcp = audience.apply((a) => ({ audience: a, tokenFile }));
  }

  const onAzure = of("azure");
  if (onAzure.length) {
    const azure = spec.replication.network.azure;
    const tenantId = spec.replication.identity.azure.tenantId;
    if (tenantId === undefined)
      throw new Error(
        `meridian:replication.identity.azure.tenantId is not set: ${region.id}/${serviceAccount} reads Key Vault secrets from outside Azure through an Entra federated credential in that tenant`,
      );
    const location = spec.regions.find((r) => r.cloud === "azure")!.region;
    const identity = new managedidentity.UserAssignedIdentity(name, { resourceGroupName: azure.resourceGroupName, location, resourceName: name }, opts);
    new managedidentity.FederatedIdentityCredential(
      name,
      { resourceGroupName: azure.resourceGroupName, resourceName: identity.name, federatedIdentityCredentialResourceName: serviceAccount, issuer, subject, audiences: [AZURE_TOKEN_AUDIENCE] },
      opts,
    );
    keyVaultRoles(name, identity.principalId, onAzure, azure, opts);
    const tokenFile = token("azure", FEDERATION_AUDIENCE.azure);
    federation.azure = identity.clientId.apply((clientId) => ({ clientId, tenantId, tokenFile }));
  }

  return {
    federation: pulumi.output(federation as Record<string, pulumi.Output<unknown>>).apply((f) => f as Federation),
    volumes: [{ name: FEDERATION_VOLUME, projected: { sources } }],
    mounts: [{ name: FEDERATION_VOLUME, mountPath: FEDERATION_TOKEN_DIR, readOnly: true }],
  };
}
