/**
 * The federation trust rule: each trust a workload's token is exchanged against names the subject and audience
 * that token carries, else the cloud refuses the exchange at run time with the error quoted.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { arr, inputs, obj, str, type PlanView, type ProviderRule } from "./rule.js";
import {
  AZ_FIC,
  AZ_IDENTITY,
  CONFIG_MAP,
  fed,
  GCP_ACCOUNT,
  GCP_SA_MEMBER,
  IAM_ROLE,
  K8S_SA,
  POD_KINDS,
  SECRET_IAM_MEMBER,
  statements,
  tokenAudiences,
  tokenSubject,
  WI_POOL,
  WI_PROVIDER,
} from "./identity-plan.js";

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

export const federationTrustRule: ProviderRule = {
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
