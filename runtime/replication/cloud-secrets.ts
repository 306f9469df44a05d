/**
 * The clouds' secret managers over their REST APIs, with the pod's workload identity (no static keys):
 *  - AWS Secrets Manager (GetSecretValue / PutSecretValue, SigV4 via aws4fetch), credentials from EKS Pod
 *    Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI + token file) or the AWS_* environment;
 *  - GCP Secret Manager (versions/latest:access, :addVersion), a token from the GKE metadata server;
 *  - Azure Key Vault (GET / PUT secrets/<name>, api-version 7.4), a token from AKS workload identity
 *    (AZURE_FEDERATED_TOKEN_FILE exchanged at AZURE_AUTHORITY_HOST for the vault's scope).
 * Each write adds a version; readers always take the latest. Endpoints are options so a test can stand in.
 */
import { readFileSync } from "node:fs";
import { AwsClient } from "aws4fetch";
import { FileSecretStore, parseSecretRef, SecretError, type SecretStore } from "./secret-store.js";

type Env = Record<string, string | undefined>;

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new SecretError(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res;
}

async function awsCredentials(env: Env): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> {
  const uri = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
  if (uri) {
    const tokenFile = env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"];
    const headers: Record<string, string> = tokenFile ? { Authorization: readFileSync(tokenFile, "utf8").trim() } : {};
    const c = (await (await ok(await fetch(uri, { headers }), "EKS Pod Identity credentials")).json()) as { AccessKeyId: string; SecretAccessKey: string; Token?: string };
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.Token ? { sessionToken: c.Token } : {}) };
  }
  const id = env["AWS_ACCESS_KEY_ID"];
  const key = env["AWS_SECRET_ACCESS_KEY"];
  if (!id || !key) throw new SecretError("no AWS credentials: run with EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  return { accessKeyId: id, secretAccessKey: key, ...(env["AWS_SESSION_TOKEN"] ? { sessionToken: env["AWS_SESSION_TOKEN"] } : {}) };
}

class AwsSecretStore implements SecretStore {
  constructor(
    readonly ref: string,
    private readonly region: string,
    private readonly secretId: string,
    private readonly env: Env,
    private readonly endpoint = `https://secretsmanager.${region}.amazonaws.com`,
  ) {}
  private async call(target: string, body: object): Promise<Record<string, unknown>> {
    const client = new AwsClient({ ...(await awsCredentials(this.env)), region: this.region, service: "secretsmanager" });
    const res = await client.fetch(this.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `secretsmanager.${target}` },
      body: JSON.stringify(body),
    });
    return (await (await ok(res, `${this.ref}: ${target}`)).json()) as Record<string, unknown>;
  }
  async read(): Promise<string> {
    const r = await this.call("GetSecretValue", { SecretId: this.secretId });
    if (typeof r["SecretString"] !== "string") throw new SecretError(`${this.ref}: the secret has no SecretString`);
    return r["SecretString"];
  }
  async write(value: string): Promise<void> {
    await this.call("PutSecretValue", { SecretId: this.secretId, SecretString: value });
  }
}

class GcpSecretStore implements SecretStore {
  constructor(
    readonly ref: string,
    private readonly name: string,
    private readonly endpoint = "https://secretmanager.googleapis.com/v1",
    private readonly metadata = "http://metadata.google.internal",
  ) {}
  private async token(): Promise<string> {
    const res = await fetch(`${this.metadata}/computeMetadata/v1/instance/service-accounts/default/token`, { headers: { "Metadata-Flavor": "Google" } });
    return ((await (await ok(res, "GKE metadata server token")).json()) as { access_token: string }).access_token;
  }
  async read(): Promise<string> {
    const res = await fetch(`${this.endpoint}/${this.name}/versions/latest:access`, { headers: { Authorization: `Bearer ${await this.token()}` } });
    const r = (await (await ok(res, `${this.ref}: access`)).json()) as { payload?: { data?: string } };
    if (typeof r.payload?.data !== "string") throw new SecretError(`${this.ref}: the latest version has no payload`);
    return Buffer.from(r.payload.data, "base64").toString("utf8");
  }
  async write(value: string): Promise<void> {
    const res = await fetch(`${this.endpoint}/${this.name}:addVersion`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await this.token()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ payload: { data: Buffer.from(value).toString("base64") } }),
    });
    await ok(res, `${this.ref}: addVersion`);
  }
}

class AzureSecretStore implements SecretStore {
  private readonly url: string;
  constructor(
    readonly ref: string,
    vault: string,
    secret: string,
    private readonly env: Env,
    endpoint = `https://${vault}.vault.azure.net`,
  ) {
    this.url = `${endpoint}/secrets/${secret}?api-version=7.4`;
  }
  private async token(): Promise<string> {
    const [file, client, tenant] = ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"].map((k) => this.env[k]);
    if (!file || !client || !tenant) throw new SecretError("no Azure workload identity: AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID must be set");
    const authority = (this.env["AZURE_AUTHORITY_HOST"] ?? "https://login.microsoftonline.com/").replace(/\/?$/, "/");
    const res = await fetch(`${authority}${tenant}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client,
        scope: "https://vault.azure.net/.default",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: readFileSync(file, "utf8").trim(),
      }),
    });
    return ((await (await ok(res, "Entra workload identity token")).json()) as { access_token: string }).access_token;
  }
  async read(): Promise<string> {
    const r = (await (await ok(await fetch(this.url, { headers: { Authorization: `Bearer ${await this.token()}` } }), `${this.ref}: get`)).json()) as { value?: string };
    if (typeof r.value !== "string") throw new SecretError(`${this.ref}: the secret has no value`);
    return r.value;
  }
  async write(value: string): Promise<void> {
    const res = await fetch(this.url, { method: "PUT", headers: { Authorization: `Bearer ${await this.token()}`, "Content-Type": "application/json" }, body: JSON.stringify({ value }) });
    await ok(res, `${this.ref}: set`);
  }
}

/** Endpoint overrides (tests stand in for the clouds on loopback). */
export interface SecretEndpoints {
  aws?: string;
  gcp?: { api: string; metadata: string };
  azure?: string;
}

export function openSecretStore(ref: string, env: Env = process.env, endpoints: SecretEndpoints = {}): SecretStore {
  const r = parseSecretRef(ref);
  switch (r.kind) {
    case "aws":
      return new AwsSecretStore(ref, r.region, r.secretId, env, endpoints.aws);
    case "gcp":
      return new GcpSecretStore(ref, r.name, endpoints.gcp?.api, endpoints.gcp?.metadata);
    case "azure":
      return new AzureSecretStore(ref, r.vault, r.secret, env, endpoints.azure);
    case "file":
      return new FileSecretStore(ref, r.path);
  }
}
