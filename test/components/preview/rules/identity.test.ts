import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as authorization from "@pulumi/azure-native/authorization/index.js";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
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
});
