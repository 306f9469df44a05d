import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as managedidentity from "@pulumi/azure-native/managedidentity/index.js";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { refusals } from "./refuse.js";

const rg = { resourceGroupName: "meridian" };
const fic = { ...rg, issuer: "https://westeurope.oic.prod-aks.azure.com/t/c/", subject: "system:serviceaccount:meridian:x", audiences: ["api://AzureADTokenExchange"] };
const EKS = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
const host = EKS.slice("https://".length);
const webTrust = (federated: string, conditions: Record<string, string>) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: federated }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringEquals: conditions } }] });

describe("federation trust rule", () => {
  it("federation-trust-matches-token: each trust a workload's config leads to names its token's sub and audience; a mismatch names both", async () => {
    const v = await refusals(() => {
      const eks = new aws.iam.OpenIdConnectProvider("eks", { url: EKS, clientIdLists: ["sts.amazonaws.com", "other-audience"] });
      const pool = new gcp.iam.WorkloadIdentityPool("pool", { project: "meridian-prod", workloadIdentityPoolId: "m-prod-aws-use1" });
      const provider = new gcp.iam.WorkloadIdentityPoolProvider("pool", {
        project: "meridian-prod",
        workloadIdentityPoolId: pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: "cluster",
        attributeMapping: { "google.subject": "assertion.sub" },
        oidc: { issuerUri: EKS },
      });
      /** A reading workload as components/replication/identity.ts wires one: trusts on each cloud, a config naming them, a Job. */
      const workload = (name: string, trusted: { sub?: string; aud?: string; azureSub?: string; gcpSub?: string; gkeKsa?: string }) => {
        const subject = (sa: string) => `system:serviceaccount:meridian:${sa}`;
        const role = new aws.iam.Role(name, {
          name,
          assumeRolePolicy: eks.arn.apply((arn) => webTrust(arn, { [`${host}:aud`]: trusted.aud ?? "sts.amazonaws.com", [`${host}:sub`]: subject(trusted.sub ?? name) })),
        });
        new gcp.secretmanager.SecretIamMember(name, {
          project: "meridian-prod",
          secretId: "s",
          role: "roles/secretmanager.secretAccessor",
          member: pulumi.interpolate`principal://iam.googleapis.com/${pool.name}/subject/${subject(trusted.gcpSub ?? name)}`,
        });
        const identity = new managedidentity.UserAssignedIdentity(name, { ...rg, location: "westeurope", resourceName: name });
        new managedidentity.FederatedIdentityCredential(name, { ...fic, issuer: EKS, resourceName: identity.name, subject: subject(trusted.azureSub ?? name) });
        // Its own cloud's identity (GKE Workload Identity), through the service account's annotation.
        const account = new gcp.serviceaccount.Account(name, { project: "meridian-prod", accountId: `m-${name}-123456` });
        new gcp.serviceaccount.IAMMember(name, {
          serviceAccountId: account.name,
          role: "roles/iam.workloadIdentityUser",
          member: `serviceAccount:meridian-prod.svc.id.goog[meridian/${trusted.gkeKsa ?? name}]`,
        });
        const sa = new k8s.core.v1.ServiceAccount(name, { metadata: { name, namespace: "meridian", annotations: { "iam.gke.io/gcp-service-account": account.email } } });
        const audience = pulumi.interpolate`//iam.googleapis.com/${provider.name}`;
        const federation = pulumi.all([role.arn, audience, identity.clientId]).apply(([roleArn, a, clientId]) =>
          JSON.stringify({
            federation: { aws: { roleArn, tokenFile: "/t/aws/token" }, gcp: { audience: a, tokenFile: "/t/gcp/token" }, azure: { clientId, tenantId: "t", tokenFile: "/t/azure/token" } },
          }),
        );
        const config = new k8s.core.v1.ConfigMap(name, { metadata: { name, namespace: "meridian" }, data: { "c.json": federation } });
        const tokens = [
          ["aws", "sts.amazonaws.com"],
          ["gcp", audience],
          ["azure", "api://AzureADTokenExchange"],
        ] as const;
        new k8s.batch.v1.Job(name, {
          metadata: { name, namespace: "meridian" },
          spec: {
            template: {
              spec: {
                serviceAccountName: sa.metadata.name,
                restartPolicy: "OnFailure",
                containers: [{ name: "c", image: "x" }],
                volumes: [
                  { name: "config", configMap: { name: config.metadata.name } },
                  { name: "federation-tokens", projected: { sources: tokens.map(([cloud, a]) => ({ serviceAccountToken: { audience: a, path: `${cloud}/token` } })) } },
                ],
              },
            },
          },
        });
      };
      workload("good", {});
      workload("aws-sub", { sub: "rotate-aws-use1" });
      workload("aws-aud", { aud: "other-audience" });
      workload("gcp-sub", { gcpSub: "rotate-aws-use1" });
      workload("azure-sub", { azureSub: "rotate-aws-use1" });
      workload("gke-ksa", { gkeKsa: "rotate-aws-use1" });
    });
    const got = v.filter((x) => x.rule === "federation-trust-matches-token").map((x) => [x.name, x.message]);
    const pool = "projects/123456789012/locations/global/workloadIdentityPools/m-prod-aws-use1";
    expect(got).toEqual([
      [
        "aws-sub",
        `AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (role aws-sub trusts ${host}:sub "system:serviceaccount:meridian:rotate-aws-use1", but aws-sub's token carries sub "system:serviceaccount:meridian:aws-sub")`,
      ],
      [
        "aws-aud",
        `InvalidIdentityToken: Incorrect token audience (role aws-aud trusts ${host}:aud "other-audience", but aws-aud's projected tokens carry audience "sts.amazonaws.com", "//iam.googleapis.com/${pool}/providers/cluster", "api://AzureADTokenExchange")`,
      ],
      [
        "gcp-sub",
        `PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied (pool m-prod-aws-use1 grants subject ${[...["good", "aws-sub", "aws-aud"], "rotate-aws-use1", "azure-sub", "gke-ksa"].map((s) => JSON.stringify(`system:serviceaccount:meridian:${s}`)).join(", ")}, but gcp-sub's token carries sub "system:serviceaccount:meridian:gcp-sub")`,
      ],
      [
        "azure-sub",
        `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Subject: 'system:serviceaccount:meridian:azure-sub'. Assertion Audience: 'sts.amazonaws.com, //iam.googleapis.com/${pool}/providers/cluster, api://AzureADTokenExchange'. (identity azure-sub trusts subject 'system:serviceaccount:meridian:rotate-aws-use1' audience 'api://AzureADTokenExchange')`,
      ],
      [
        "gke-ksa",
        "PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied (service account gke-ksa lets serviceAccount:meridian-prod.svc.id.goog[meridian/rotate-aws-use1] impersonate it, but gke-ksa runs as meridian/gke-ksa)",
      ],
    ]);
  });
});
