/**
 * Database logins for logical replication, generated here and kept in the copy's own cloud's secret manager
 * (AWS Secrets Manager, GCP Secret Manager, Azure Key Vault) — never in stack config or a ConfigMap. Pods
 * read them at run time by reference (runtime/replication/secret-store.ts):
 *  - `admin`: a login that may create roles and subscriptions on the copy (Aurora's master, a Cloud SQL
 *    built-in user, the Azure server's administrator);
 *  - `login` (publishers only): the alternating pair of replication roles, `meridian_replication_a` active
 *    and `_b` standby. Pulumi writes the first version only (`ignoreChanges` on the value):
 *    `meridian replication rotate` owns every later one, so a `pulumi up` never rolls a rotation back;
 *  - `monitor`: the lag monitor's own login (`meridian_monitor`: pg_monitor and the heartbeat table only,
 *    runtime/replication/monitor-login.ts), created on the copy by its monitor-login Job (logical.ts). Pulumi
 *    writes the first version only, as for `login`: the rotation (rotation.ts) owns every later one.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import * as keyvault from "@pulumi/azure-native/keyvault/index.js";
import { azureResourceGroupScope, type AzureNetworkSettings } from "../../model/network/azure.js";

const REPLICATION_ROLES = ["meridian_replication_a", "meridian_replication_b"] as const;

/** Secret references a copy's clients read at run time. */
export interface CopySecrets {
  admin: pulumi.Output<string>;
  /** The replication login, on copies that publish to another cloud. */
  login?: pulumi.Output<string>;
  /** The lag monitor's least-privilege login: the only secret its identity may read. */
  monitor: pulumi.Output<string>;
}

/** The lag monitor's role on every copy (a plain login; its grants are runtime/replication/monitor-login.ts's). */
const MONITOR_ROLE = "meridian_monitor";

export function generatedPassword(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  // Alphanumerics only: the password travels in libpq conninfo and SQL literals.
  return new random.RandomPassword(name, { length: 40, special: false }, opts).result;
}

/** The first version of a publisher's replication login: two roles, two generated passwords. */
export function initialReplicationLogin(id: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const [a, b] = REPLICATION_ROLES.map((role, i) => generatedPassword(`${id}-replication-${"ab"[i]}`, opts)) as [pulumi.Output<string>, pulumi.Output<string>];
  return pulumi.secret(pulumi.all([a, b]).apply(([pa, pb]) => JSON.stringify({ username: REPLICATION_ROLES[0], password: pa, standby: { username: REPLICATION_ROLES[1], password: pb } })));
}

/** The first version of a copy's monitor login (`meridian replication rotate` writes the later ones). */
export const monitorLoginJson = (id: string, opts: pulumi.CustomResourceOptions) => loginJson(MONITOR_ROLE, generatedPassword(`${id}-monitor`, opts));

export const loginJson = (username: string, password: pulumi.Output<string>) => pulumi.secret(password.apply((p) => JSON.stringify({ username, password: p })));

/**
 * The cloud resource behind a secret reference: what a workload identity is granted on (identity.ts).
 * AWS: the secret's ARN; GCP: its project and secret id; Azure: its ARM resource id.
 */
export type CloudSecret =
  | { cloud: "aws"; ref: pulumi.Output<string>; arn: pulumi.Output<string> }
  | { cloud: "gcp"; ref: pulumi.Output<string>; project: string; secretId: string }
  | { cloud: "azure"; ref: pulumi.Output<string>; scope: string };

// Keyed by the reference Output itself: components pass references around, identities look their grants up.
const behind = new WeakMap<pulumi.Output<string>, CloudSecret>();
function registered(secret: CloudSecret): pulumi.Output<string> {
  behind.set(secret.ref, secret);
  return secret.ref;
}

/** The secret a reference made here names; a reference from elsewhere is a programming error. */
export function cloudSecretOf(ref: pulumi.Output<string>): CloudSecret {
  const s = behind.get(ref);
  if (!s) throw new Error("a secret reference not made by components/replication/credentials.ts: no cloud resource to grant on");
  return s;
}

/** A Secrets Manager secret (`<name>`) holding `value`; Pulumi writes it once when `once`. */
export function awsSecret(name: string, region: string, description: string, value: pulumi.Output<string>, once: boolean, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const secret = new aws.secretsmanager.Secret(name.replaceAll("/", "-"), { name, region, description }, opts);
  new aws.secretsmanager.SecretVersion(name.replaceAll("/", "-"), { secretId: secret.id, region, secretString: value }, { ...opts, ...(once ? { ignoreChanges: ["secretString"] } : {}) });
  return registered({ cloud: "aws", ref: pulumi.output(`aws-secretsmanager://${region}/${name}`), arn: secret.arn });
}

/** A Secret Manager secret `secretId` in `project` (the one the databases' VPC is in), replicated automatically. */
export function gcpSecret(project: string, secretId: string, value: pulumi.Output<string>, once: boolean, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const secret = new gcp.secretmanager.Secret(secretId, { project, secretId, replication: { auto: {} }, labels: { "app-kubernetes-io-part-of": "meridian" } }, opts);
  new gcp.secretmanager.SecretVersion(secretId, { secret: secret.id, secretData: value }, { ...opts, ...(once ? { ignoreChanges: ["secretData"] } : {}) });
  return registered({ cloud: "gcp", ref: pulumi.output(`gcp-secretmanager://projects/${project}/secrets/${secretId}`), project, secretId });
}

/** A Key Vault secret `secretName` in the stack's vault (meridian:replication.network.azure.keyVaultName). */
export function azureSecret(secretName: string, vault: AzureNetworkSettings, value: pulumi.Output<string>, once: boolean, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  new keyvault.Secret(
    secretName,
    { resourceGroupName: vault.resourceGroupName, vaultName: vault.keyVaultName, secretName, properties: { value, contentType: "application/json" } },
    { ...opts, ...(once ? { ignoreChanges: ["properties.value"] } : {}) },
  );
  // The secret's ARM id, the narrowest scope Key Vault RBAC grants on.
  const scope = `${azureResourceGroupScope(vault)}/providers/Microsoft.KeyVault/vaults/${vault.keyVaultName}/secrets/${secretName}`;
  return registered({ cloud: "azure", ref: pulumi.output(`azure-keyvault://${vault.keyVaultName}/${secretName}`), scope });
}
