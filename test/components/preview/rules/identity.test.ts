import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as k8s from "@pulumi/kubernetes";
import { messages, refusals } from "./refuse.js";

const podTrust = (actions: string[], service = "pods.eks.amazonaws.com") =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: actions }] });
const rg = { resourceGroupName: "meridian" };
const fic = { ...rg, issuer: "https://westeurope.oic.prod-aks.azure.com/t/c/", subject: "system:serviceaccount:meridian:x", audiences: ["api://AzureADTokenExchange"] };

describe("workload identity provider rules", () => {
  it("aws-eks-pod-identity-trust: a role without sts:TagSession, or trusting another service, is refused; the documented trust passes", async () => {
    const v = await refusals(() => {
      for (const [name, policy] of [
        ["no-tag", podTrust(["sts:AssumeRole"])],
        ["ec2", podTrust(["sts:AssumeRole", "sts:TagSession"], "ec2.amazonaws.com")],
        ["good", podTrust(["sts:AssumeRole", "sts:TagSession"])],
      ] as const) {
        const role = new aws.iam.Role(name, { name, assumeRolePolicy: policy });
        new aws.eks.PodIdentityAssociation(name, { clusterName: "c", namespace: "meridian", serviceAccount: name, roleArn: role.arn });
      }
    });
    expect(v.filter((x) => x.rule === "aws-eks-pod-identity-trust").map((x) => x.name)).toEqual(["no-tag", "ec2"]);
    expect(messages(v, "aws-eks-pod-identity-trust")[0]).toBe("InvalidParameterException: Trust policy of the role provided is invalid. Follow the official documentation to resolve the issue.");
  });

  it("gcp-service-account-id: too long, upper case or a trailing hyphen", async () => {
    const v = await refusals(() => {
      for (const id of ["m-sub-aws-use1-from-aws-use1-abcdef", "Meridian-x1", "meridian-", "m-rotate-aws-use1-a1b2c3"]) new gcp.serviceaccount.Account(id, { project: "p-123456", accountId: id });
    });
    expect(messages(v, "gcp-service-account-id")).toEqual(
      ["m-sub-aws-use1-from-aws-use1-abcdef", "Meridian-x1", "meridian-"].map(
        (id) =>
          `gcp:serviceaccount/account:Account resource '${id}' has a problem: "account_id" ("${id}") doesn't match regexp "^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$". Examine values at '${id}.accountId'.`,
      ),
    );
  });

  it("gcp-workload-identity-member: a workload identity grant must name PROJECT.svc.id.goog[NS/KSA]", async () => {
    const v = await refusals(() => {
      const account = new gcp.serviceaccount.Account("a", { project: "meridian-prod", accountId: "m-pub-aws-use1-123456" });
      new gcp.serviceaccount.IAMMember("bad", { serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser", member: "serviceAccount:meridian-prod.svc.id.goog/meridian/pub" });
      new gcp.serviceaccount.IAMMember("good", { serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser", member: "serviceAccount:meridian-prod.svc.id.goog[meridian/pub-aws-use1]" });
    });
    expect(v.filter((x) => x.rule === "gcp-workload-identity-member").map((x) => x.name)).toEqual(["bad"]);
  });

  it("azure-federated-credential: an http issuer, no subject, or two audiences", async () => {
    const v = await refusals(() => {
      new managedidentity.FederatedIdentityCredential("http", { ...fic, resourceName: "id", issuer: "http://issuer.example/" });
      new managedidentity.FederatedIdentityCredential("two", { ...fic, resourceName: "id", audiences: ["api://AzureADTokenExchange", "other"] });
      new managedidentity.FederatedIdentityCredential("ok", { ...fic, resourceName: "id" });
    });
    expect(v.filter((x) => x.rule === "azure-federated-credential").map((x) => [x.name, x.message])).toEqual([
      ["http", "BadRequest: Issuer 'http://issuer.example/' is not a valid https URL."],
      ["two", "BadRequest: Exactly one audience is supported ('api://AzureADTokenExchange')."],
    ]);
  });

  it("azure-federated-credential-limit: the 21st credential on one identity is refused", async () => {
    const v = await refusals(() => {
      const identity = new managedidentity.UserAssignedIdentity("id", { ...rg, location: "westeurope", resourceName: "id" });
      for (let i = 0; i < 21; i++) new managedidentity.FederatedIdentityCredential(`f${i}`, { ...fic, resourceName: identity.name, subject: `system:serviceaccount:meridian:s${i}` });
    });
    expect(v.filter((x) => x.rule === "azure-federated-credential-limit").map((x) => x.name)).toEqual(["f20"]);
  });

  it("azure-role-assignment-new-principal: a new identity's role assignment without principalType is refused", async () => {
    const v = await refusals(() => {
      const identity = new managedidentity.UserAssignedIdentity("id", { ...rg, location: "westeurope", resourceName: "id" });
      const role = {
        roleDefinitionId: "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
        scope: "/subscriptions/x",
      };
      new authorization.RoleAssignment("untyped", { ...role, principalId: identity.principalId });
      new authorization.RoleAssignment("typed", { ...role, principalId: identity.principalId, principalType: "ServicePrincipal" });
    });
    expect(v.filter((x) => x.rule === "azure-role-assignment-new-principal").map((x) => x.name)).toEqual(["untyped"]);
  });

  const EKS = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
  const host = EKS.slice("https://".length);
  const webTrust = (federated: string, conditions: Record<string, string>) =>
    JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: federated }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: conditions } }] });

  it("aws-oidc-provider-url: an http or query-carrying url, no client id, or the same url twice", async () => {
    const v = await refusals(() => {
      new aws.iam.OpenIdConnectProvider("http", { url: "http://issuer.example/", clientIdLists: ["sts.amazonaws.com"] });
      new aws.iam.OpenIdConnectProvider("query", { url: "https://issuer.example/?x=1", clientIdLists: ["sts.amazonaws.com"] });
      new aws.iam.OpenIdConnectProvider("none", { url: "https://other.example/", clientIdLists: [] });
      new aws.iam.OpenIdConnectProvider("first", { url: EKS, clientIdLists: ["sts.amazonaws.com"] });
      new aws.iam.OpenIdConnectProvider("again", { url: EKS, clientIdLists: ["sts.amazonaws.com"] });
    });
    const byName = (a: string[], b: string[]) => a[0]!.localeCompare(b[0]!);
    expect(
      v
        .filter((x) => x.rule === "aws-oidc-provider-url")
        .map((x) => [x.name, x.message])
        .sort(byName),
    ).toEqual([
      ["again", `EntityAlreadyExists: Provider with url ${EKS} already exists.`],
      ["http", `aws:iam/openIdConnectProvider:OpenIdConnectProvider resource 'http' has a problem: "url" has to use HTTPS scheme (i.e. begin with https://). Examine values at 'http.url'.`],
      ["none", "ValidationError: 1 validation error detected: Value at 'clientIDList' failed to satisfy constraint: Member must have length between 1 and 100"],
      ["query", `aws:iam/openIdConnectProvider:OpenIdConnectProvider resource 'query' has a problem: "url" cannot contain query parameters per the OIDC standard. Examine values at 'query.url'.`],
    ]);
  });

  it("aws-oidc-provider-thumbprints: none is the documented default; six, or one that is not a 40-hex SHA-1, is refused", async () => {
    const sha1 = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
    const v = await refusals(() => {
      const provider = (name: string, thumbprintLists?: string[]) =>
        new aws.iam.OpenIdConnectProvider(name, { url: `https://${name}.example/`, clientIdLists: ["sts.amazonaws.com"], ...(thumbprintLists ? { thumbprintLists } : {}) });
      provider("none");
      provider("one", [sha1]);
      provider(
        "six",
        Array.from({ length: 6 }, () => sha1),
      );
      provider("short", ["9e99a48a99"]);
    });
    const got = v
      .filter((x) => x.rule === "aws-oidc-provider-thumbprints")
      .map((x) => [x.name, x.message])
      .sort((a, b) => b[0]!.localeCompare(a[0]!));
    expect(got).toEqual([
      ["six", "ValidationError: 1 validation error detected: Value at 'thumbprintList' failed to satisfy constraint: Member must have length less than or equal to 5"],
      [
        "short",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider resource 'short' has a problem: expected length of thumbprint_list.0 to be in the range (40 - 40), got 9e99a48a99. Examine values at 'short.thumbprintLists[0]'.",
      ],
    ]);
  });

  it("aws-web-identity-trust: an unknown provider, a wrong audience, a subject not system:serviceaccount:NS:SA, or none; the documented trust passes", async () => {
    const v = await refusals(() => {
      const provider = new aws.iam.OpenIdConnectProvider("eks", { url: EKS, clientIdLists: ["sts.amazonaws.com"] });
      const role = (name: string, conditions: Record<string, string>, federated?: string) =>
        new aws.iam.Role(name, { name, assumeRolePolicy: federated ? webTrust(federated, conditions) : provider.arn.apply((arn) => webTrust(arn, conditions)) });
      role("good", { [`${host}:aud`]: "sts.amazonaws.com", [`${host}:sub`]: "system:serviceaccount:meridian:sub-a" });
      role("unknown", { [`${host}:aud`]: "sts.amazonaws.com", [`${host}:sub`]: "system:serviceaccount:meridian:sub-a" }, "arn:aws:iam::123456789012:oidc-provider/issuer.example");
      role("audience", { [`${host}:aud`]: "api://AzureADTokenExchange", [`${host}:sub`]: "system:serviceaccount:meridian:sub-a" });
      role("subject", { [`${host}:aud`]: "sts.amazonaws.com", [`${host}:sub`]: "meridian/sub-a" });
      role("open", { [`${host}:aud`]: "sts.amazonaws.com" });
    });
    const got = v.filter((x) => x.rule === "aws-web-identity-trust").map((x) => [x.name, x.message.split(" (")[0]]);
    expect(got).toEqual([
      ["unknown", 'MalformedPolicyDocument: Invalid principal in policy: "Federated":"arn:aws:iam::123456789012:oidc-provider/issuer.example"'],
      ["audience", "InvalidIdentityToken: Incorrect token audience"],
      ["subject", "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"],
      ["open", "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"],
    ]);
  });

  it("gcp-workload-identity-pool-ids and -provider-oidc: a gcp- prefix, a short id, an http issuer, no google.subject mapping", async () => {
    const v = await refusals(() => {
      new gcp.iam.WorkloadIdentityPool("reserved", { project: "meridian-prod", workloadIdentityPoolId: "gcp-clusters" });
      new gcp.iam.WorkloadIdentityPool("ok", { project: "meridian-prod", workloadIdentityPoolId: "m-prod-aws-use1" });
      const provider = (name: string, id: string, issuerUri: string, mapping: Record<string, string> = { "google.subject": "assertion.sub" }) =>
        new gcp.iam.WorkloadIdentityPoolProvider(name, {
          project: "meridian-prod",
          workloadIdentityPoolId: "m-prod-aws-use1",
          workloadIdentityPoolProviderId: id,
          attributeMapping: mapping,
          oidc: { issuerUri },
        });
      provider("short", "eks", EKS);
      provider("http", "cluster", "http://issuer.example/");
      provider("unmapped", "cluster", EKS, { "attribute.sa": "assertion.sub" });
      provider("fine", "cluster", EKS);
    });
    expect(v.filter((x) => x.rule === "gcp-workload-identity-pool-ids").map((x) => x.name)).toEqual(["reserved", "short"]);
    expect(v.filter((x) => x.rule === "gcp-workload-identity-provider-oidc").map((x) => [x.name, x.message])).toEqual([
      ["http", "googleapi: Error 400: The issuer URI http://issuer.example/ must be an HTTPS endpoint., badRequest"],
      ["unmapped", "googleapi: Error 400: attribute_mapping must contain a mapping for google.subject., badRequest"],
    ]);
  });

  it("gcp-principal-identifier: a principal naming the project id instead of its number is refused", async () => {
    const pool = "locations/global/workloadIdentityPools/m-prod-aws-use1/subject/system:serviceaccount:meridian:rotate-aws-use1";
    const v = await refusals(() => {
      for (const [name, project] of [
        ["by-id", "meridian-prod"],
        ["by-number", "123456789012"],
      ])
        new gcp.secretmanager.SecretIamMember(name!, {
          project: "meridian-prod",
          secretId: "s",
          role: "roles/secretmanager.secretAccessor",
          member: `principal://iam.googleapis.com/projects/${project}/${pool}`,
        });
    });
    expect(v.filter((x) => x.rule === "gcp-principal-identifier").map((x) => x.name)).toEqual(["by-id"]);
  });

  it("azure-federated-credential-kubernetes-subject: a Kubernetes issuer trusted for a subject no service account token carries", async () => {
    const v = await refusals(() => {
      new managedidentity.FederatedIdentityCredential("bad", { ...fic, resourceName: "id", issuer: EKS, subject: "meridian:rotate-aws-use1" });
      new managedidentity.FederatedIdentityCredential("good", { ...fic, resourceName: "id", issuer: EKS, subject: "system:serviceaccount:meridian:rotate-aws-use1" });
    });
    expect(messages(v, "azure-federated-credential-kubernetes-subject")).toEqual([
      "AADSTS70021: No matching federated identity record found for presented assertion. (a Kubernetes token's sub is system:serviceaccount:NAMESPACE:NAME, not meridian:rotate-aws-use1)",
    ]);
  });

  it("federation-token-audience: a pod's projected token for an audience nothing in the plan accepts", async () => {
    const gcpAudience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/m-prod-aws-use1/providers/cluster";
    const v = await refusals(() => {
      new aws.iam.OpenIdConnectProvider("eks", { url: EKS, clientIdLists: ["sts.amazonaws.com"] });
      new gcp.iam.WorkloadIdentityPoolProvider("p", {
        project: "meridian-prod",
        workloadIdentityPoolId: "m-prod-aws-use1",
        workloadIdentityPoolProviderId: "cluster",
        attributeMapping: { "google.subject": "assertion.sub" },
        oidc: { issuerUri: EKS },
      });
      const job = (name: string, audiences: string[]) =>
        new k8s.batch.v1.Job(name, {
          metadata: { name, namespace: "meridian" },
          spec: {
            template: {
              spec: {
                restartPolicy: "OnFailure",
                containers: [{ name: "c", image: "x", volumeMounts: [{ name: "federation-tokens", mountPath: "/t" }] }],
                volumes: [{ name: "federation-tokens", projected: { sources: audiences.map((audience, i) => ({ serviceAccountToken: { audience, path: `${i}/token` } })) } }],
              },
            },
          },
        });
      job("good", ["sts.amazonaws.com", gcpAudience]);
      job("wrong-aws", ["sts.amazonaws.co"]);
      job("wrong-gcp", [gcpAudience.replace("/providers/cluster", "/providers/other")]);
    });
    expect(v.filter((x) => x.rule === "federation-token-audience").map((x) => [x.name, x.message.split(" (")[0]])).toEqual([
      ["wrong-aws", "InvalidIdentityToken: Incorrect token audience"],
      ["wrong-gcp", `invalid_grant: The audience in ID Token [${gcpAudience.replace("/providers/cluster", "/providers/other")}] does not match the expected audience.`],
    ]);
  });
});
