// The replication credentials and their rotation CronJob, built one copy at a time under the recording mock
// runtime (pulumi.runtime.setMocks, with the offline provider rules) — not the whole estate: an Aurora
// publisher feeding a Cloud SQL and an Azure subscriber. Every login lives in its own cloud's secret
// manager; the CronJob's config parses with the rotate command's own schema and holds no password.
import * as k8s from "@pulumi/kubernetes";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec, regionById } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { runUnderMocks, type RecordedResource } from "../../../components/preview/mock-runtime.js";
import type { RegionCluster } from "../../../components/cluster/region-cluster.js";
import { auroraCopy } from "../../../components/replication/aurora.js";
import { azurePostgresCopy } from "../../../components/replication/azure-postgres.js";
import { cloudSqlCopy } from "../../../components/replication/cloudsql.js";
import type { CopyRequest } from "../../../components/replication/copy.js";
import { loginRotation } from "../../../components/replication/rotation.js";
import { publication, subscription } from "../../../components/replication/logical.js";
import { KEY_VAULT_SECRETS_USER, gcpAccountId } from "../../../components/replication/identity.js";
import { credentialsConfigSchema, loginSchema, parseSecretRef, replicationLoginSchema, rotateConfigSchema } from "../../../runtime/replication/index.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
let resources: RecordedResource[] = [];
const ofType = (type: string) => resources.filter((r) => r.type === type);
const inputs = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  const run = await runUnderMocks(
    () => {
      const { network, databases } = spec.replication;
      const req = (region: string, role: CopyRequest["role"], publishes: boolean): CopyRequest => ({ writer: "aws-use1", region: regionById(spec, region), role, publishes, environment: "prod" });
      const publisher = auroraCopy(req("aws-use1", "primary", true), network.aws, databases.aws, false, {});
      const gcpSub = cloudSqlCopy({ ...req("gcp-usc1", "subscriber", false), feeder: publisher }, network.gcp, databases, {});
      const azureSub = azurePostgresCopy({ ...req("azure-sea", "subscriber", false), feeder: publisher }, network.azure, databases, {});
      const clusterOf = (id: string) => ({ region: regionById(spec, id), provider: new k8s.Provider(`${id}-k8s`, { kubeconfig: "{}" }) }) as unknown as RegionCluster;
      const cluster = clusterOf("aws-use1");
      loginRotation(spec, publisher, [gcpSub, azureSub], cluster, {});
      // The Jobs, each in its region, with their own identities.
      const images = { psql: "postgres@sha256:" + "0".repeat(64), runtime: spec.runtime.image };
      publication(spec, publisher, cluster, images, {});
      subscription(spec, publisher, gcpSub, clusterOf("gcp-usc1"), images, [], {});
      subscription(spec, publisher, azureSub, clusterOf("azure-sea"), images, [], {});
    },
    { stack: "prod", config: {}, cloudValues: "fake" },
  );
  resources = run.resources;
}, 120_000);

describe("replication credentials in the clouds' secret managers", () => {
  it("the Aurora publisher keeps its master, its alternating replication login and its lag monitor's login in Secrets Manager", () => {
    const names = ofType("aws:secretsmanager/secret:Secret").map((s) => inputs(s)["name"]);
    expect(names.sort()).toEqual(["meridian-prod-aws-use1/master", "meridian-prod-aws-use1/monitor", "meridian-prod-aws-use1/replication"]);
    const versions = Object.fromEntries(ofType("aws:secretsmanager/secretVersion:SecretVersion").map((v) => [v.name, JSON.parse(inputs(v)["secretString"])]));
    expect(loginSchema.parse(versions["meridian-prod-aws-use1-master"])).toMatchObject({ username: "meridian" });
    const login = replicationLoginSchema.parse(versions["meridian-prod-aws-use1-replication"]);
    expect([login.username, login.standby.username]).toEqual(["meridian_replication_a", "meridian_replication_b"]);
    expect(login.password).not.toBe(login.standby.password);
    expect(loginSchema.parse(versions["meridian-prod-aws-use1-monitor"])).toMatchObject({ username: "meridian_monitor" });
  });

  it("the Cloud SQL subscriber gets a built-in admin user whose login is in Secret Manager, its monitor's login beside it, and no replication login (it publishes nothing)", () => {
    const [user] = ofType("gcp:sql/user:User");
    expect(inputs(user!)).toMatchObject({ name: "meridian_admin", type: "BUILT_IN", instance: "meridian-prod-aws-use1-at-gcp-usc1" });
    const secrets = ofType("gcp:secretmanager/secret:Secret").map((s) => inputs(s));
    expect(secrets).toEqual(["admin", "monitor"].map((s) => expect.objectContaining({ project: "meridian-prod", secretId: `meridian-prod-aws-use1-at-gcp-usc1-${s}`, replication: { auto: {} } })));
    const [version, monitor] = ofType("gcp:secretmanager/secretVersion:SecretVersion");
    expect(loginSchema.parse(JSON.parse(inputs(monitor!)["secretData"]))).toMatchObject({ username: "meridian_monitor" });
    expect(loginSchema.parse(JSON.parse(inputs(version!)["secretData"]))).toEqual({ username: "meridian_admin", password: inputs(user!)["password"] });
  });

  it("the Azure subscriber allows password and Entra logins, its administrator's login kept in Key Vault", () => {
    const [server] = ofType("azure-native:dbforpostgresql:Server");
    expect(inputs(server!)).toMatchObject({ authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Enabled" }, administratorLogin: "meridian_admin" });
    const [secret] = ofType("azure-native:keyvault:Secret");
    expect(inputs(secret!)).toMatchObject({ vaultName: spec.replication.network.azure.keyVaultName, secretName: "meridian-prod-aws-use1-at-azure-sea-admin" });
    expect(JSON.parse(inputs(secret!)["properties"]["value"])).toEqual({ username: "meridian_admin", password: inputs(server!)["administratorLoginPassword"] });
  });
});

describe("the login rotation CronJob", () => {
  it("is a valid CronJob that never overlaps, running `meridian replication rotate` from the runtime image", () => {
    const [cron] = ofType("kubernetes:batch/v1:CronJob");
    expect(new CronJob(inputs(cron!) as ConstructorParameters<typeof CronJob>[0]).validate()).toBeUndefined();
    expect(inputs(cron!)["spec"]).toMatchObject({ schedule: "17 4 * * 1", concurrencyPolicy: "Forbid" });
    const [container] = inputs(cron!)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
    expect(container).toMatchObject({ image: spec.runtime.image, args: ["replication", "rotate", "--config", "/etc/meridian/replication-rotate/rotate.json"] });
    expect(cron!.provider).toContain("::aws-use1-k8s::");
  });

  it("its config is what the command accepts: every subscriber, each cloud's secret reference, and no password", () => {
    const map = ofType("kubernetes:core/v1:ConfigMap").find((m) => inputs(m)["metadata"]["name"] === "rotate-aws-use1")!;
    const text = inputs(map)["data"]["rotate.json"] as string;
    const config = rotateConfigSchema.parse(JSON.parse(text));
    expect(config.publisher).toMatchObject({ admin: "aws-secretsmanager://us-east-1/meridian-prod-aws-use1/master", replicationGrant: "rds_replication" });
    expect(config.login).toBe("aws-secretsmanager://us-east-1/meridian-prod-aws-use1/replication");
    expect(config.subscribers.map((s) => [s.subscription, parseSecretRef(s.admin).kind])).toEqual([
      ["meridian_aws_use1_from_aws_use1", "gcp"],
      ["meridian_aws_use1_from_aws_use1", "azure"],
    ]);
    for (const s of config.subscribers) expect(s.source).toMatch(/^host='[^']+' port=5432 dbname=meridian sslmode=require$/);
    // It also rotates the lag monitor's login on the publisher and on each subscriber, each in its own cloud.
    expect(config.monitors.map((m) => m.login)).toEqual([
      "aws-secretsmanager://us-east-1/meridian-prod-aws-use1/monitor",
      "gcp-secretmanager://projects/meridian-prod/secrets/meridian-prod-aws-use1-at-gcp-usc1-monitor",
      `azure-keyvault://${spec.replication.network.azure.keyVaultName}/meridian-prod-aws-use1-at-azure-sea-monitor`,
    ]);
    expect(config.monitors.map((m) => m.admin)).toEqual([config.publisher!.admin, ...config.subscribers.map((s) => s.admin)]);
    for (const v of [...ofType("random:index/randomPassword:RandomPassword").map((p) => p.name)]) expect(text).not.toContain(`Mock${v.replace(/[^A-Za-z0-9]/g, "")}`);
  });
});

describe("the workloads' cloud identities (least privilege: each secret by itself)", () => {
  const named = (type: string, name: string) => ofType(type).find((r) => r.name === name)!;
  const arn = (secret: string) => `arn:mock:aws:secretsmanager/secret:Secret:${secret}`;

  it("EKS: the rotation's role trusts Pod Identity only, may read its publisher's secrets and write the replication and monitor logins, and is associated with its service account", () => {
    const role = named("aws:iam/role:Role", "aws-use1-rotate-aws-use1");
    expect(JSON.parse(inputs(role)["assumeRolePolicy"])).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
    });
    const policy = JSON.parse(inputs(named("aws:iam/rolePolicy:RolePolicy", "aws-use1-rotate-aws-use1"))["policy"]);
    expect(policy.Statement).toEqual([
      {
        Sid: "ReadLogins",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [arn("meridian-prod-aws-use1-replication"), arn("meridian-prod-aws-use1-master"), arn("meridian-prod-aws-use1-monitor")],
      },
      { Sid: "RotateLogins", Effect: "Allow", Action: ["secretsmanager:PutSecretValue"], Resource: [arn("meridian-prod-aws-use1-replication"), arn("meridian-prod-aws-use1-monitor")] },
    ]);
    expect(inputs(named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws-use1-rotate-aws-use1"))).toMatchObject({
      region: "us-east-1",
      clusterName: "meridian-aws-use1",
      namespace: "meridian",
      serviceAccount: "rotate-aws-use1",
      roleArn: "arn:aws:iam::123456789012:role/meridian-prod-aws-use1-rotate-aws-use1",
    });
    // The publication Job reads, never writes.
    const pub = JSON.parse(inputs(named("aws:iam/rolePolicy:RolePolicy", "aws-use1-pub-aws-use1"))["policy"]);
    expect(pub.Statement).toEqual([
      { Sid: "ReadLogins", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [arn("meridian-prod-aws-use1-master"), arn("meridian-prod-aws-use1-replication")] },
    ]);
  });

  it("GKE: the subscription Job's Google service account is bound to its Kubernetes service account and may read its subscriber's admin secret only", () => {
    const ksa = "sub-aws-use1-from-aws-use1";
    const account = named("gcp:serviceaccount/account:Account", `gcp-usc1-${ksa}`);
    const email = `${gcpAccountId("gcp-usc1", ksa)}@meridian-prod.iam.gserviceaccount.com`;
    expect(inputs(account)).toMatchObject({ project: "meridian-prod", accountId: gcpAccountId("gcp-usc1", ksa) });
    expect(inputs(named("gcp:serviceaccount/iAMMember:IAMMember", `gcp-usc1-${ksa}`))).toEqual({
      serviceAccountId: `projects/meridian-prod/serviceAccounts/${email}`,
      role: "roles/iam.workloadIdentityUser",
      member: `serviceAccount:meridian-prod.svc.id.goog[meridian/${ksa}]`,
    });
    expect(
      ofType("gcp:secretmanager/secretIamMember:SecretIamMember")
        .map(inputs)
        .filter((m) => m["member"].startsWith("serviceAccount:")),
    ).toEqual([{ project: "meridian-prod", secretId: "meridian-prod-aws-use1-at-gcp-usc1-admin", role: "roles/secretmanager.secretAccessor", member: `serviceAccount:${email}` }]);
    const sa = ofType("kubernetes:core/v1:ServiceAccount").find((r) => r.name === `gcp-usc1-${ksa}`)!;
    expect(inputs(sa)["metadata"]["annotations"]).toEqual({ "iam.gke.io/gcp-service-account": email });
  });

  it("AKS: a user-assigned identity federated with the cluster's OIDC issuer for the Job's service account, Key Vault Secrets User on its subscriber's admin secret only", () => {
    const ksa = "sub-aws-use1-from-aws-use1";
    const fic = named("azure-native:managedidentity:FederatedIdentityCredential", `azure-sea-${ksa}`);
    expect(inputs(fic)).toMatchObject({
      issuer: spec.replication.identity.azure.oidcIssuers["azure-sea"],
      subject: `system:serviceaccount:meridian:${ksa}`,
      audiences: ["api://AzureADTokenExchange"],
      resourceName: `azure-sea-${ksa}`,
    });
    const assignments = ofType("azure-native:authorization:RoleAssignment")
      .filter((r) => r.name.startsWith(`azure-sea-${ksa}-`) && !r.name.includes("-federated"))
      .map(inputs);
    expect(assignments).toHaveLength(1);
    expect(assignments[0]).toMatchObject({
      principalType: "ServicePrincipal",
      roleDefinitionId: `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/${KEY_VAULT_SECRETS_USER}`,
      scope: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/meridian-prod/providers/Microsoft.KeyVault/vaults/${spec.replication.network.azure.keyVaultName}/secrets/meridian-prod-aws-use1-at-azure-sea-admin`,
    });
    const identity = named("azure-native:managedidentity:UserAssignedIdentity", `azure-sea-${ksa}`);
    expect(assignments[0]!["principalId"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(identity).toBeDefined();
    const sa = ofType("kubernetes:core/v1:ServiceAccount").find((r) => r.name === `azure-sea-${ksa}`)!;
    expect(Object.keys(inputs(sa)["metadata"]["annotations"])).toEqual(["azure.workload.identity/client-id"]);
    const job = ofType("kubernetes:batch/v1:Job").find((r) => r.name === `azure-sea-${ksa}`)!;
    expect(inputs(job)["spec"]["template"]["metadata"]["labels"]).toMatchObject({ "azure.workload.identity/use": "true" });
    expect(inputs(job)["spec"]["template"]["spec"]["serviceAccountName"]).toBe(ksa);
  });

  it("the Jobs read their logins in an init container into memory, never from a Kubernetes Secret", () => {
    for (const job of ofType("kubernetes:batch/v1:Job")) {
      const pod = inputs(job)["spec"]["template"]["spec"];
      expect(pod.initContainers.map((c: { args: string[] }) => c.args.slice(0, 2))).toEqual([["replication", "credentials"]]);
      expect(pod.volumes.find((v: { name: string }) => v.name === "login").emptyDir).toEqual({ medium: "Memory", sizeLimit: "1Mi" });
      expect(JSON.stringify(pod)).not.toMatch(/secretKeyRef|"secret":/);
    }
  });
});

describe("cross-cloud reads by workload identity federation (each pair, least privilege)", () => {
  const named = (type: string, name: string) => ofType(type).find((r) => r.name === name)!;
  const eks = spec.replication.identity.aws.oidcIssuers["aws-use1"]!;
  const gke = "https://container.googleapis.com/v1/projects/meridian-prod/locations/us-central1/clusters/meridian-gcp-usc1";
  const aks = spec.replication.identity.azure.oidcIssuers["azure-sea"]!;
  const podOf = (type: string, name: string) => {
    const spec = inputs(named(type, name))["spec"];
    return type.endsWith("CronJob") ? spec["jobTemplate"]["spec"]["template"]["spec"] : spec["template"]["spec"];
  };
  const configOf = (name: string, key: string) => JSON.parse(inputs(ofType("kubernetes:core/v1:ConfigMap").find((m) => m.name === name)!)["data"][key]);
  /** The projected token's audience for the file a federation config names. */
  const audienceOf = (pod: { volumes: { name: string; projected?: { sources: { serviceAccountToken: { audience: string; path: string } }[] } }[] }, file: string) =>
    pod.volumes.find((v) => v.name === "federation-tokens")!.projected!.sources.find((s) => file === `/var/run/secrets/meridian/federation/${s.serviceAccountToken.path}`)?.serviceAccountToken
      .audience;

  it("GKE → AWS: an OIDC provider for the GKE issuer, a role assumable only by the Job's subject with audience sts.amazonaws.com, read on the replication login only", () => {
    const ksa = "sub-aws-use1-from-aws-use1";
    const provider = ofType("aws:iam/openIdConnectProvider:OpenIdConnectProvider").find((p) => inputs(p)["url"] === gke)!;
    expect(inputs(provider)["clientIdLists"]).toEqual(["sts.amazonaws.com"]);
    const role = named("aws:iam/role:Role", `gcp-usc1-${ksa}-federated`);
    const host = gke.slice("https://".length);
    expect(JSON.parse(inputs(role)["assumeRolePolicy"]).Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::123456789012:oidc-provider/${host}` },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${host}:aud`]: "sts.amazonaws.com", [`${host}:sub`]: `system:serviceaccount:meridian:${ksa}` } },
      },
    ]);
    expect(JSON.parse(inputs(named("aws:iam/rolePolicy:RolePolicy", `gcp-usc1-${ksa}-federated`))["policy"]).Statement).toEqual([
      { Sid: "ReadLogins", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: ["arn:mock:aws:secretsmanager/secret:Secret:meridian-prod-aws-use1-replication"] },
    ]);
    const config = credentialsConfigSchema.parse(configOf(`gcp-usc1-${ksa}`, "credentials.json"));
    expect(config.federation.aws).toEqual({ roleArn: `arn:aws:iam::123456789012:role/meridian-prod-gcp-usc1-${ksa}`, tokenFile: "/var/run/secrets/meridian/federation/aws/token" });
    const pod = podOf("kubernetes:batch/v1:Job", `gcp-usc1-${ksa}`);
    expect(audienceOf(pod, config.federation.aws!.tokenFile)).toBe("sts.amazonaws.com");
    expect(pod.initContainers[0].volumeMounts).toContainEqual({ name: "federation-tokens", mountPath: "/var/run/secrets/meridian/federation", readOnly: true });
  });

  it("EKS → GCP: a pool and OIDC provider trusting the EKS issuer, the rotation's principal granted on the Cloud SQL admin secret (read) and monitor secret (rotate) only, token audience the provider's name", () => {
    const pool = ofType("gcp:iam/workloadIdentityPool:WorkloadIdentityPool").find((p) => inputs(p)["workloadIdentityPoolId"] === "m-prod-aws-use1")!;
    expect(inputs(pool)).toMatchObject({ project: "meridian-prod" });
    const provider = ofType("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").find((p) => inputs(p)["workloadIdentityPoolId"] === "m-prod-aws-use1")!;
    expect(inputs(provider)).toMatchObject({ workloadIdentityPoolProviderId: "cluster", attributeMapping: { "google.subject": "assertion.sub" }, oidc: { issuerUri: eks } });
    const principal = "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/m-prod-aws-use1/subject/system:serviceaccount:meridian:rotate-aws-use1";
    expect(
      ofType("gcp:secretmanager/secretIamMember:SecretIamMember")
        .map(inputs)
        .filter((m) => m["member"].startsWith("principal://")),
    ).toEqual([
      { project: "meridian-prod", secretId: "meridian-prod-aws-use1-at-gcp-usc1-admin", role: "roles/secretmanager.secretAccessor", member: principal },
      { project: "meridian-prod", secretId: "meridian-prod-aws-use1-at-gcp-usc1-monitor", role: "roles/secretmanager.secretAccessor", member: principal },
      { project: "meridian-prod", secretId: "meridian-prod-aws-use1-at-gcp-usc1-monitor", role: "roles/secretmanager.secretVersionAdder", member: principal },
    ]);
    const config = rotateConfigSchema.parse(configOf("aws-use1-rotate-aws-use1", "rotate.json"));
    const audience = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/m-prod-aws-use1/providers/cluster";
    expect(config.federation.gcp).toEqual({ audience, tokenFile: "/var/run/secrets/meridian/federation/gcp/token" });
    expect(audienceOf(podOf("kubernetes:batch/v1:CronJob", "aws-use1-rotate-aws-use1"), config.federation.gcp!.tokenFile)).toBe(audience);
  });

  it("EKS → Azure and AKS → AWS: a federated credential on its own identity for the rotation, an OIDC provider for the AKS issuer for the Azure Job", () => {
    const name = "aws-use1-rotate-aws-use1-federated";
    expect(inputs(named("azure-native:managedidentity:FederatedIdentityCredential", name))).toMatchObject({
      issuer: eks,
      subject: "system:serviceaccount:meridian:rotate-aws-use1",
      audiences: ["api://AzureADTokenExchange"],
    });
    const assignments = ofType("azure-native:authorization:RoleAssignment").filter((r) => r.name.startsWith(`${name}-`));
    // Reads the subscriber's admin; sets (Key Vault Secrets Officer) its monitor's login, which it rotates.
    expect(assignments.map((a) => [inputs(a)["scope"].split("/").pop(), inputs(a)["roleDefinitionId"].split("/").pop()])).toEqual([
      ["meridian-prod-aws-use1-at-azure-sea-admin", KEY_VAULT_SECRETS_USER],
      ["meridian-prod-aws-use1-at-azure-sea-monitor", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"],
    ]);
    const config = rotateConfigSchema.parse(configOf("aws-use1-rotate-aws-use1", "rotate.json"));
    expect(config.federation.azure).toMatchObject({ tenantId: spec.replication.identity.azure.tenantId, tokenFile: "/var/run/secrets/meridian/federation/azure/token" });
    expect(config.federation.azure!.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(audienceOf(podOf("kubernetes:batch/v1:CronJob", "aws-use1-rotate-aws-use1"), config.federation.azure!.tokenFile)).toBe("api://AzureADTokenExchange");
    // Its replication login is on its own cloud: no federation for AWS.
    expect(config.federation.aws).toBeUndefined();
    expect(
      ofType("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
        .map((p) => inputs(p)["url"])
        .sort(),
    ).toEqual([aks, gke].sort());
  });
});
