/**
 * Workload identity rules (components/replication/identity.ts): what EKS Pod Identity, GKE Workload
 * Identity and Entra workload identity federation refuse, in the words of the source each rule links.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, bridgeProblem, inputs, str, type PlanView, type ProviderRule } from "./rule.js";

const POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
const IAM_ROLE = "aws:iam/role:Role";
const GCP_ACCOUNT = "gcp:serviceaccount/account:Account";
const GCP_SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
const AZ_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
const AZ_FIC = "azure-native:managedidentity:FederatedIdentityCredential";
const AZ_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";

/** The resources of `type` that `r`'s inputs came from (its direct dependencies). */
const fed = (r: RecordedResource, plan: PlanView, type: string) => r.dependencies.map((u) => plan.byUrn.get(u)).filter((d): d is RecordedResource => d?.type === type);

/** Whether an IAM trust policy lets EKS Pod Identity assume the role: pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession. */
function trustsPodIdentity(policy: string): boolean {
  let doc: { Statement?: unknown };
  try {
    doc = JSON.parse(policy) as { Statement?: unknown };
  } catch {
    return false;
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as { Effect?: string; Principal?: { Service?: unknown }; Action?: unknown }[];
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]);
  const actions = new Set(
    statements
      .filter((s) => s?.Effect === "Allow" && list(s.Principal?.Service).includes("pods.eks.amazonaws.com"))
      .flatMap((s) => list(s.Action))
      .map(String),
  );
  return ["sts:AssumeRole", "sts:TagSession"].every((a) => actions.has(a) || actions.has("sts:*"));
}

export const identityRules: ProviderRule[] = [
  {
    id: "aws-eks-pod-identity-trust",
    provider: "aws",
    types: [POD_IDENTITY],
    summary: "A Pod Identity association's role must trust pods.eks.amazonaws.com for sts:AssumeRole and sts:TagSession",
    source: "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html; error text: https://github.com/hashicorp/terraform-provider-aws/issues/41483",
    check(r, plan) {
      const roles = fed(r, plan, IAM_ROLE);
      const bad = roles.filter((role) => {
        const policy = str(inputs(role)["assumeRolePolicy"]);
        return policy !== undefined && !trustsPodIdentity(policy);
      });
      return bad.length ? ["InvalidParameterException: Trust policy of the role provided is invalid. Follow the official documentation to resolve the issue."] : [];
    },
  },
  {
    id: "gcp-service-account-id",
    provider: "gcp",
    types: [GCP_ACCOUNT],
    summary: "A service account id is 6–30 characters: a lower-case letter, then letters, digits or hyphens, not ending in a hyphen",
    source: "https://github.com/hashicorp/terraform-provider-google/blob/main/google/services/resourcemanager/resource_google_service_account.go (account_id: validateRFC1035Name(6, 30))",
    check(r) {
      const id = str(inputs(r)["accountId"]);
      const re = "^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$";
      return id !== undefined && !new RegExp(re).test(id) ? [bridgeProblem(r, "accountId", `"account_id" ("${id}") doesn't match regexp "${re}"`)] : [];
    },
  },
  {
    id: "gcp-workload-identity-member",
    provider: "gcp",
    types: [GCP_SA_MEMBER],
    summary: "roles/iam.workloadIdentityUser is granted to a Kubernetes service account as serviceAccount:PROJECT_ID.svc.id.goog[NAMESPACE/KSA_NAME]",
    source: "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#kubernetes-sa-to-iam",
    check(r) {
      const p = inputs(r);
      if (p["role"] !== "roles/iam.workloadIdentityUser") return [];
      const member = str(p["member"]);
      if (member === undefined || /^serviceAccount:[a-z][a-z0-9-]{4,28}[a-z0-9]\.svc\.id\.goog\[[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?\]$/.test(member)) return [];
      return [`googleapi: Error 400: Invalid principal: ${member}: a Kubernetes service account is serviceAccount:PROJECT_ID.svc.id.goog[NAMESPACE/KSA_NAME], badRequest`];
    },
  },
  {
    id: "azure-federated-credential",
    provider: "azure",
    types: [AZ_FIC],
    summary: "A federated identity credential names an https issuer, a subject and one audience",
    source: "https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-considerations (issuer, subject, audiences)",
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const issuer = str(p["issuer"]);
      if (issuer !== undefined && !(URL.canParse(issuer) && new URL(issuer).protocol === "https:")) out.push(`BadRequest: Issuer '${issuer}' is not a valid https URL.`);
      if (p["subject"] === undefined || p["subject"] === "") out.push("BadRequest: The property 'subject' is required.");
      if (arr(p["audiences"]).length !== 1) out.push("BadRequest: Exactly one audience is supported ('api://AzureADTokenExchange').");
      return out;
    },
  },
  {
    id: "azure-federated-credential-limit",
    provider: "azure",
    types: [AZ_FIC],
    summary: "A user-assigned managed identity holds at most 20 federated identity credentials",
    source: "https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-considerations#general-federated-identity-credential-considerations",
    check(r, plan) {
      const identity = fed(r, plan, AZ_IDENTITY)[0];
      if (identity === undefined) return [];
      const siblings = plan.ofType(AZ_FIC).filter((f) => fed(f, plan, AZ_IDENTITY)[0] === identity);
      return siblings.length > 20 && siblings.indexOf(r) >= 20 ? ["BadRequest: A maximum of 20 federated identity credentials can be added to a user-assigned managed identity."] : [];
    },
  },
  {
    id: "azure-role-assignment-new-principal",
    provider: "azure",
    types: [AZ_ROLE_ASSIGNMENT],
    summary: "A role assignment to an identity created in the same deployment sets principalType (ServicePrincipal), or fails while the directory replicates",
    source: "https://learn.microsoft.com/en-us/azure/role-based-access-control/role-assignments-template#new-service-principal",
    check(r, plan) {
      if (fed(r, plan, AZ_IDENTITY).length === 0 || inputs(r)["principalType"] === "ServicePrincipal") return [];
      return ["PrincipalNotFound: Principal does not exist in the directory. (set principalType: ServicePrincipal for a new managed identity)"];
    },
  },
];
