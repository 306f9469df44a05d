/**
 * Workload identity rules (components/replication/identity.ts): what EKS Pod Identity, GKE Workload
 * Identity and Entra workload identity federation refuse, in the words of the source each rule links.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, at, bridgeProblem, inputs, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
const IAM_ROLE = "aws:iam/role:Role";
const GCP_ACCOUNT = "gcp:serviceaccount/account:Account";
const GCP_SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember";
const AZ_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
const AZ_FIC = "azure-native:managedidentity:FederatedIdentityCredential";
const AZ_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
const OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider";
const WI_POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool";
const WI_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider";
const SECRET_IAM_MEMBER = "gcp:secretmanager/secretIamMember:SecretIamMember";
const POD_KINDS = ["kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:apps/v1:Deployment"];
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const K8S_SA = "kubernetes:core/v1:ServiceAccount";

/** A Kubernetes service account token's subject. */
const K8S_SUBJECT = /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** Issuers whose tokens are Kubernetes service account tokens: EKS, GKE, AKS. */
const K8S_ISSUER = /^https:\/\/(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/|container\.googleapis\.com\/v1\/projects\/|[a-z0-9-]+\.oic\.prod-aks\.azure\.com\/)/;
const GCP_ID = /^(?!gcp-)[a-z0-9-]{4,32}$/;

/** The statements of an IAM policy document (none when it is not JSON). */
function statements(policy: string): { Effect?: string; Principal?: { Federated?: unknown; Service?: unknown }; Action?: unknown; Condition?: Record<string, Record<string, unknown>> }[] {
  try {
    const doc = JSON.parse(policy) as { Statement?: unknown };
    return (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]).filter((x) => x !== undefined) as ReturnType<typeof statements>;
  } catch {
    return [];
  }
}

/** The projected service account token audiences of a workload's pods. */
function tokenAudiences(r: RecordedResource): string[] {
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
function tokenSubject(r: RecordedResource): string | undefined {
  const ns = str(at(inputs(r), "metadata.namespace")) ?? (at(inputs(r), "metadata.namespace") === undefined ? "default" : undefined);
  const sa = str(podSpec(r)["serviceAccountName"]) ?? (podSpec(r)["serviceAccountName"] === undefined ? "default" : undefined);
  return ns === undefined || sa === undefined ? undefined : `system:serviceaccount:${ns}:${sa}`;
}

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

/**
 * The trusts a workload's token is exchanged against, found through what its inputs came from: the config it
 * mounts names the federated IAM role's ARN, the GCP pool provider's name and the Entra identity's client id
 * (components/replication/identity.ts); its service account's annotation names its own cloud's identity.
 */
function trustsOf(
  r: RecordedResource,
  plan: PlanView,
): { roles: RecordedResource[]; poolProviders: RecordedResource[]; federatedIdentities: RecordedResource[]; ownIdentities: RecordedResource[]; accounts: RecordedResource[] } {
  const configs = fed(r, plan, CONFIG_MAP);
  const accounts = fed(r, plan, K8S_SA);
  const from = (type: string, via: RecordedResource[]) => [...new Set([...fed(r, plan, type), ...via.flatMap((c) => fed(c, plan, type))])];
  return {
    roles: from(IAM_ROLE, configs),
    poolProviders: from(WI_PROVIDER, configs),
    federatedIdentities: from(AZ_IDENTITY, configs),
    ownIdentities: accounts.flatMap((a) => fed(a, plan, AZ_IDENTITY)),
    accounts: from(GCP_ACCOUNT, accounts),
  };
}

/** The `sub` a GCP principal:// member grants (principal://…/workloadIdentityPools/POOL/subject/SUB). */
const principalSubject = (member: string) => /\/subject\/(.+)$/.exec(member)?.[1];

const federationTrustRule: ProviderRule = {
  id: "federation-trust-matches-token",
  provider: "estate",
  types: POD_KINDS,
  summary:
    "Each federated trust a workload's token is exchanged against (IAM role trust conditions, GCP pool principals and workloadIdentityUser members, Entra federated credentials) names the sub its service account's token carries (system:serviceaccount:NS:SA) and the audience it is projected for",
  source:
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif (aud, sub); https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes (principal subject, audience); https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-create-trust-user-assigned-managed-identity (subject, audience; AADSTS70021)",
  check(r, plan) {
    const sub = tokenSubject(r);
    if (sub === undefined) return [];
    const audiences = tokenAudiences(r);
    const carried = audiences.length ? audiences.map((a) => JSON.stringify(a)).join(", ") : "none";
    const out: string[] = [];
    const { roles, poolProviders, federatedIdentities, ownIdentities, accounts } = trustsOf(r, plan);
    for (const role of roles) {
      const policy = str(inputs(role)["assumeRolePolicy"]);
      for (const st of policy === undefined ? [] : statements(policy)) {
        const actions = (Array.isArray(st.Action) ? st.Action : [st.Action]).map(String);
        if (st.Effect !== "Allow" || !actions.includes("sts:AssumeRoleWithWebIdentity")) continue;
        for (const [key, value] of Object.entries(st.Condition?.["StringEquals"] ?? {})) {
          if (typeof value !== "string") continue;
          if (key.endsWith(":sub") && value !== sub)
            out.push(
              `AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (role ${role.name} trusts ${key} ${JSON.stringify(value)}, but ${r.name}'s token carries sub ${JSON.stringify(sub)})`,
            );
          if (key.endsWith(":aud") && !audiences.includes(value))
            out.push(`InvalidIdentityToken: Incorrect token audience (role ${role.name} trusts ${key} ${JSON.stringify(value)}, but ${r.name}'s projected tokens carry audience ${carried})`);
        }
      }
    }
    for (const provider of poolProviders) {
      const pool = fed(provider, plan, WI_POOL)[0];
      const granted = plan
        .ofType(SECRET_IAM_MEMBER)
        .filter((m) => pool !== undefined && fed(m, plan, WI_POOL).includes(pool))
        .map((m) => str(inputs(m)["member"]));
      if (granted.some((m) => m === undefined)) continue; // the pool's name is not known yet
      const subjects = [...new Set(granted.map((m) => principalSubject(m!)).filter((s) => s !== undefined))];
      if (subjects.length && !subjects.includes(sub))
        out.push(
          `PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied (pool ${str(inputs(provider)["workloadIdentityPoolId"]) ?? provider.name} grants subject ${subjects.map((s) => JSON.stringify(s)).join(", ")}, but ${r.name}'s token carries sub ${JSON.stringify(sub)})`,
        );
      const allowed = arr(obj(inputs(provider)["oidc"])["allowedAudiences"]).map(String);
      if (allowed.length && !allowed.some((a) => audiences.includes(a)))
        out.push(`invalid_grant: The audience in ID Token [${audiences.join(", ")}] does not match the expected audience (pool provider ${provider.name} allows ${allowed.join(", ")}).`);
    }
    // An identity the config names is reached with the projected tokens; the service account's own (AKS) with
    // the token AKS's workload identity webhook projects, for api://AzureADTokenExchange.
    const entra: [RecordedResource, string[]][] = [
      ...federatedIdentities.map((i): [RecordedResource, string[]] => [i, audiences]),
      ...ownIdentities.map((i): [RecordedResource, string[]] => [i, ["api://AzureADTokenExchange"]]),
    ];
    for (const [identity, offered] of entra) {
      const credentials = plan.ofType(AZ_FIC).filter((f) => fed(f, plan, AZ_IDENTITY).includes(identity));
      const known = credentials.filter((f) => str(inputs(f)["subject"]) !== undefined);
      if (known.length === 0) continue;
      const match = known.some((f) => str(inputs(f)["subject"]) === sub && arr(inputs(f)["audiences"]).some((a) => offered.includes(String(a))));
      if (!match)
        out.push(
          `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Subject: '${sub}'. Assertion Audience: '${offered.join(", ")}'. (identity ${identity.name} trusts ${known.map((f) => `subject '${str(inputs(f)["subject"])}' audience '${arr(inputs(f)["audiences"]).join(", ")}'`).join("; ")})`,
        );
    }
    for (const account of accounts) {
      const members = plan
        .ofType(GCP_SA_MEMBER)
        .filter((m) => inputs(m)["role"] === "roles/iam.workloadIdentityUser" && fed(m, plan, GCP_ACCOUNT).includes(account))
        .map((m) => str(inputs(m)["member"]));
      if (members.length === 0 || members.some((m) => m === undefined)) continue;
      const [, , ns, sa] = sub.split(":");
      if (!members.some((m) => m!.endsWith(`.svc.id.goog[${ns}/${sa}]`)))
        out.push(
          `PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied (service account ${account.name} lets ${members.join(", ")} impersonate it, but ${r.name} runs as ${ns}/${sa})`,
        );
    }
    return out;
  },
};

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
  {
    id: "aws-oidc-provider-url",
    provider: "aws",
    types: [OIDC_PROVIDER],
    summary: "An IAM OIDC provider's url is https with no query; it has 1-100 client ids; one provider per url in an account",
    source:
      "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/iam/validate.go (validOpenIDURL); https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html (ClientIDList, EntityAlreadyExists)",
    check(r, plan) {
      const p = inputs(r);
      const url = str(p["url"]);
      const out: string[] = [];
      if (url !== undefined) {
        if (!URL.canParse(url) || new URL(url).protocol !== "https:") out.push(bridgeProblem(r, "url", `"url" has to use HTTPS scheme (i.e. begin with https://)`));
        else if (new URL(url).search !== "") out.push(bridgeProblem(r, "url", `"url" cannot contain query parameters per the OIDC standard`));
        const same = plan.ofType(OIDC_PROVIDER).filter((o) => str(inputs(o)["url"]) === url);
        if (same.indexOf(r) > 0) out.push(`EntityAlreadyExists: Provider with url ${url} already exists.`);
      }
      const ids = arr(p["clientIdLists"]);
      if (ids.length < 1 || ids.length > 100) out.push(`ValidationError: 1 validation error detected: Value at 'clientIDList' failed to satisfy constraint: Member must have length between 1 and 100`);
      return out;
    },
  },
  {
    id: "aws-oidc-provider-thumbprints",
    provider: "aws",
    types: [OIDC_PROVIDER],
    summary:
      "An IAM OIDC provider's thumbprintList is optional (IAM fetches the top intermediate CA's thumbprint itself, and verifies issuers whose certificates chain to a trusted root CA without it); when set it holds at most 5 thumbprints of 40 hex characters (SHA-1)",
    source:
      "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html (ThumbprintList: optional, up to five, 40 characters); https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html",
    check(r) {
      const list = inputs(r)["thumbprintLists"];
      if (list === undefined) return []; // documented: IAM retrieves the thumbprint; trusted-CA issuers need none
      const prints = arr(list).map((t) => str(t));
      const out: string[] = [];
      if (prints.length > 5) out.push("ValidationError: 1 validation error detected: Value at 'thumbprintList' failed to satisfy constraint: Member must have length less than or equal to 5");
      for (const [i, t] of prints.entries()) {
        if (t !== undefined && !/^[0-9a-fA-F]{40}$/.test(t)) out.push(bridgeProblem(r, `thumbprintLists[${i}]`, `expected length of thumbprint_list.${i} to be in the range (40 - 40), got ${t}`));
      }
      return out;
    },
  },
  {
    id: "aws-web-identity-trust",
    provider: "aws",
    types: [IAM_ROLE],
    summary:
      "A role trusting sts:AssumeRoleWithWebIdentity names an OIDC provider of the plan as Federated principal, and conditions on <issuer>:aud (one of the provider's client ids, else STS refuses the token) and <issuer>:sub (a Kubernetes issuer's subject is system:serviceaccount:NS:SA)",
    source:
      "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html; https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html (InvalidIdentityToken)",
    check(r, plan) {
      const policy = str(inputs(r)["assumeRolePolicy"]);
      if (policy === undefined) return [];
      const out: string[] = [];
      for (const st of statements(policy)) {
        const actions = (Array.isArray(st.Action) ? st.Action : [st.Action]).map(String);
        if (st.Effect !== "Allow" || !actions.includes("sts:AssumeRoleWithWebIdentity")) continue;
        const federated = str(st.Principal?.Federated);
        if (federated === undefined) continue;
        const provider = plan.ofType(OIDC_PROVIDER).find((o) => {
          const url = str(inputs(o)["url"]);
          // Compared without a trailing slash (AKS issuers end in one; the condition keys never carry it).
          return url !== undefined && federated.replace(/\/$/, "").endsWith(`:oidc-provider/${url.replace(/^https:\/\//, "").replace(/\/$/, "")}`);
        });
        if (provider === undefined) {
          out.push(`MalformedPolicyDocument: Invalid principal in policy: "Federated":"${federated}"`);
          continue;
        }
        const host = str(inputs(provider)["url"])!
          .replace(/^https:\/\//, "")
          .replace(/\/$/, "");
        const equals = st.Condition?.["StringEquals"] ?? {};
        const aud = equals[`${host}:aud`];
        const sub = equals[`${host}:sub`];
        const clientIds = arr(inputs(provider)["clientIdLists"]).map(String);
        if (typeof aud !== "string" || !clientIds.includes(aud))
          out.push(`InvalidIdentityToken: Incorrect token audience (the trust's ${host}:aud ${JSON.stringify(aud ?? null)} is not a client id of the provider: ${clientIds.join(", ")})`);
        if (typeof sub !== "string") out.push(`AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (no ${host}:sub condition: every workload of the issuer could assume the role)`);
        else if (K8S_ISSUER.test(`https://${host}`) && !K8S_SUBJECT.test(sub))
          out.push(`AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (a Kubernetes token's sub is system:serviceaccount:NAMESPACE:NAME, not ${sub})`);
      }
      return out;
    },
  },
  {
    id: "gcp-workload-identity-pool-ids",
    provider: "gcp",
    types: [WI_POOL, WI_PROVIDER],
    summary: "Workload identity pool and provider ids are 4-32 characters of [a-z0-9-], not starting with gcp-",
    source:
      "https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools/create (workloadIdentityPoolId); https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers/create",
    check(r) {
      const key = r.type === WI_POOL ? "workloadIdentityPoolId" : "workloadIdentityPoolProviderId";
      const id = str(inputs(r)[key]);
      return id !== undefined && !GCP_ID.test(id)
        ? [
            `googleapi: Error 400: ${key} ${JSON.stringify(id)}: must be 4-32 characters, and may contain the characters [a-z0-9-]. The prefix gcp- is reserved for use by Google, and may not be specified., badRequest`,
          ]
        : [];
    },
  },
  {
    id: "gcp-workload-identity-provider-oidc",
    provider: "gcp",
    types: [WI_PROVIDER],
    summary: "An OIDC pool provider's issuerUri is an https URL, and its attributeMapping maps google.subject",
    source: "https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers (Oidc.issuerUri; attributeMapping: google.subject)",
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const issuer = str(obj(p["oidc"])["issuerUri"]);
      if (issuer !== undefined && !(URL.canParse(issuer) && new URL(issuer).protocol === "https:")) out.push(`googleapi: Error 400: The issuer URI ${issuer} must be an HTTPS endpoint., badRequest`);
      if (p["oidc"] !== undefined && obj(p["attributeMapping"])["google.subject"] === undefined)
        out.push("googleapi: Error 400: attribute_mapping must contain a mapping for google.subject., badRequest");
      return out;
    },
  },
  {
    id: "gcp-principal-identifier",
    provider: "gcp",
    types: [SECRET_IAM_MEMBER],
    summary:
      "A workload identity federation principal is principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/subject/SUBJECT (the project's number, not its id)",
    source: "https://cloud.google.com/iam/docs/principal-identifiers",
    check(r) {
      const member = str(inputs(r)["member"]);
      if (member === undefined || !member.startsWith("principal://")) return [];
      return /^principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/subject\/.{1,127}$/.test(member)
        ? []
        : [
            `googleapi: Error 400: Invalid principal: ${member}: expected principal://iam.googleapis.com/projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID/subject/SUBJECT, badRequest`,
          ];
    },
  },
  {
    id: "azure-federated-credential-kubernetes-subject",
    provider: "azure",
    types: [AZ_FIC],
    summary: "A federated credential trusting a Kubernetes cluster's issuer names the subject system:serviceaccount:NS:SA, or no token ever matches it",
    source:
      "https://learn.microsoft.com/en-us/azure/aks/workload-identity-deploy-cluster#establish-federated-identity-credential; https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes (AADSTS70021)",
    check(r) {
      const p = inputs(r);
      const issuer = str(p["issuer"]);
      const subject = str(p["subject"]);
      if (issuer === undefined || subject === undefined || !K8S_ISSUER.test(issuer) || K8S_SUBJECT.test(subject)) return [];
      return [`AADSTS70021: No matching federated identity record found for presented assertion. (a Kubernetes token's sub is system:serviceaccount:NAMESPACE:NAME, not ${subject})`];
    },
  },
  {
    id: "federation-token-audience",
    provider: "estate",
    types: POD_KINDS,
    summary:
      "A pod's projected service account token is for an audience its trusting side accepts: a client id of an IAM OIDC provider, a GCP pool provider's own resource name (or one of its allowedAudiences), or an Entra federated credential's audience",
    source:
      "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html (InvalidIdentityToken); https://cloud.google.com/iam/docs/workload-identity-federation-with-kubernetes (audience); https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation (audiences)",
    check(r, plan) {
      const out: string[] = [];
      for (const audience of tokenAudiences(r)) {
        const gcp = /^\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/.exec(audience);
        if (gcp) {
          const provider = plan.ofType(WI_PROVIDER).find((p) => str(inputs(p)["workloadIdentityPoolId"]) === gcp[1] && str(inputs(p)["workloadIdentityPoolProviderId"]) === gcp[2]);
          const allowed = arr(obj(inputs(provider ?? r)["oidc"])["allowedAudiences"]).map(String);
          if (provider === undefined || (allowed.length > 0 && !allowed.includes(audience))) out.push(`invalid_grant: The audience in ID Token [${audience}] does not match the expected audience.`);
          continue;
        }
        const aws = plan.ofType(OIDC_PROVIDER).some((o) => arr(inputs(o)["clientIdLists"]).map(String).includes(audience));
        const azure = plan.ofType(AZ_FIC).some((f) => arr(inputs(f)["audiences"]).map(String).includes(audience));
        if (!aws && !azure) out.push(`InvalidIdentityToken: Incorrect token audience (no OIDC provider, pool provider or federated credential of the plan accepts ${JSON.stringify(audience)})`);
      }
      return out;
    },
  },
  federationTrustRule,
];
