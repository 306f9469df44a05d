/**
 * Workload identity rules (components/replication/identity.ts): what EKS Pod Identity, GKE Workload
 * Identity and Entra workload identity federation refuse, in the words of the source each rule links.
 */
import { arr, bridgeProblem, inputs, obj, str, type ProviderRule } from "./rule.js";
import { federationTrustRule } from "./identity-federation.js";
import {
  AZ_FIC,
  AZ_IDENTITY,
  AZ_ROLE_ASSIGNMENT,
  fed,
  GCP_ACCOUNT,
  GCP_ID,
  GCP_SA_MEMBER,
  IAM_ROLE,
  K8S_ISSUER,
  K8S_SUBJECT,
  OIDC_PROVIDER,
  POD_IDENTITY,
  POD_KINDS,
  SECRET_IAM_MEMBER,
  statements,
  tokenAudiences,
  WI_POOL,
  WI_PROVIDER,
} from "./identity-plan.js";

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
