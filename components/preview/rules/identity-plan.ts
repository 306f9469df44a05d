/**
 * What the identity rules read off a plan: the resource types of workload identity federation, and what a
 * workload's pods present (their service account token's subject and projected audiences).
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, at, inputs, obj, str, type PlanView } from "./rule.js";

export const POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
export const IAM_ROLE = "aws:iam/role:Role";
export const GCP_ACCOUNT = "gcp:serviceaccount/account:Account";
export const GCP_SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
export const AZ_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
export const AZ_FIC = "azure-native:managedidentity:FederatedIdentityCredential";
export const AZ_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
export const OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
export const WI_POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool";
export const WI_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider";
export const SECRET_IAM_MEMBER = "gcp:secretmanager/secretIamMember:SecretIamMember";
export const POD_KINDS = ["kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:apps/v1:Deployment"];
export const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
export const K8S_SA = "kubernetes:core/v1:ServiceAccount";

/** A Kubernetes service account token's subject. */
export const K8S_SUBJECT = /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** Issuers whose tokens are Kubernetes service account tokens: EKS, GKE, AKS. */
export const K8S_ISSUER = /^https:\/\/(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/|container\.googleapis\.com\/v1\/projects\/|[a-z0-9-]+\.oic\.prod-aks\.azure\.com\/)/;
export const GCP_ID = /^(?!gcp-)[a-z0-9-]{4,32}$/;

/** The statements of an IAM policy document (none when it is not JSON). */
export function statements(policy: string): { Effect?: string; Principal?: { Federated?: unknown; Service?: unknown }; Action?: unknown; Condition?: Record<string, Record<string, unknown>> }[] {
  try {
    const doc = JSON.parse(policy) as { Statement?: unknown };
    return (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]).filter((x) => x !== undefined) as ReturnType<typeof statements>;
  } catch {
    return [];
  }
}

/** The projected service account token audiences of a workload's pods. */
export function tokenAudiences(r: RecordedResource): string[] {
  const volumes = arr(podSpec(r)["volumes"]) as { projected?: { sources?: { serviceAccountToken?: { audience?: unknown } }[] } }[];
  return volumes
    .flatMap((v) => arr(v.projected?.sources).map((s) => str((s as { serviceAccountToken?: { audience?: unknown } }).serviceAccountToken?.audience)))
    .filter((a): a is string => a !== undefined);
}

/** The pod template's spec of a Job, CronJob or Deployment. */
function podSpec(r: RecordedResource): Record<string, unknown> {
  const p = obj(inputs(r)["spec"]);
  return obj(r.type.endsWith("CronJob") ? at(p, "jobTemplate.spec.template.spec") : at(p, "template.spec"));
}

/** The `sub` a workload's service account tokens carry (none while its namespace or account is unknown). */
export function tokenSubject(r: RecordedResource): string | undefined {
  const ns = str(at(inputs(r), "metadata.namespace")) ?? (at(inputs(r), "metadata.namespace") === undefined ? "default" : undefined);
  const sa = str(podSpec(r)["serviceAccountName"]) ?? (podSpec(r)["serviceAccountName"] === undefined ? "default" : undefined);
  return ns === undefined || sa === undefined ? undefined : `system:serviceaccount:${ns}:${sa}`;
}

/** The resources of `type` that `r`'s inputs came from (its direct dependencies). */
export const fed = (r: RecordedResource, plan: PlanView, type: string) => r.dependencies.map((u) => plan.byUrn.get(u)).filter((d): d is RecordedResource => d?.type === type);
