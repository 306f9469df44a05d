/**
 * The clouds' secret managers over their REST APIs, with the pod's workload identity (no static keys):
 *  - AWS Secrets Manager (GetSecretValue / PutSecretValue, SigV4 via aws4fetch), credentials from EKS Pod
 *    Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI + token file) or the AWS_* environment;
 *  - GCP Secret Manager (versions/latest:access, :addVersion), a token from the GKE metadata server;
 *  - Azure Key Vault (GET / PUT secrets/<name>, api-version 7.4), a token from AKS workload identity
 *    (AZURE_FEDERATED_TOKEN_FILE exchanged at AZURE_AUTHORITY_HOST for the vault's scope).
 * A secret on another cloud than the pod's is read through workload identity federation (`federation`,
 * rendered by components/replication/identity.ts): the cluster's projected service account token, with the
 * audience the other cloud trusts, exchanged for that cloud's credentials —
 *  - AWS: STS AssumeRoleWithWebIdentity (audience `sts.amazonaws.com`) for the role trusting the issuer;
 *  - GCP: the Security Token Service's token exchange (RFC 8693; audience the pool provider's full name),
 *    whose federated access token Secret Manager accepts for the principal granted on the secret;
 *  - Azure: the Entra client-credentials grant with the token as client assertion (`api://AzureADTokenExchange`)
 *    for the user-assigned identity whose federated credential trusts the issuer.
 * Each write adds a version; readers always take the latest. Endpoints are options so a test can stand in.
 */
import { readFileSync } from "node:fs";
import { AwsClient } from "aws4fetch";
import { z } from "zod";
import { FileSecretStore, parseSecretRef, SecretError, type SecretStore } from "./secret-store.js";

type Env = Record<string, string | undefined>;

/** Where a pod's projected service account tokens are mounted (one per audience). */
const tokenFile = z.string().regex(/^\/./, "an absolute path to a projected service account token");

/** How a pod reaches each other cloud's secret manager: the identity that cloud's resources trust. */
export const federationSchema = z
  .object({
    aws: z
      .object({
        roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,64}$/, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
        tokenFile,
      })
      .strict()
      .optional(),
    gcp: z
      .object({
        /** The pool provider's full resource name, which is also the token's audience. */
        audience: z
          .string()
          .regex(
            /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/,
            "//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>",
          ),
        tokenFile,
      })
      .strict()
      .optional(),
    azure: z
      .object({
        // Entra ids are GUIDs (not necessarily RFC 9562 versioned UUIDs).
        clientId: z.guid(),
        tenantId: z.guid(),
        tokenFile,
      })
      .strict()
      .optional(),
  })
  .strict();
export type Federation = z.output<typeof federationSchema>;

/** The audiences each cloud's federation expects in the projected token (identity.ts renders the same). */
export const FEDERATION_AUDIENCE = { aws: "sts.amazonaws.com", azure: "api://AzureADTokenExchange" } as const;

const readToken = (file: string) => readFileSync(file, "utf8").trim();

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new SecretError(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res;
}

type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** The unsigned AssumeRoleWithWebIdentity call (STS Query API, version 2011-06-15). */
function assumeRoleWithWebIdentityRequest(roleArn: string, token: string, sessionName: string): { method: "POST"; headers: Record<string, string>; body: string } {
  const body = new URLSearchParams({ Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: roleArn, RoleSessionName: sessionName, WebIdentityToken: token, DurationSeconds: "3600" });
  return { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/xml" }, body: body.toString() };
}

async function webIdentityCredentials(f: NonNullable<Federation["aws"]>, endpoint: string): Promise<AwsCredentials> {
  const res = await ok(await fetch(endpoint, assumeRoleWithWebIdentityRequest(f.roleArn, readToken(f.tokenFile), `meridian-replication-${process.pid}`)), "STS AssumeRoleWithWebIdentity");
  const xml = await res.text();
  const tag = (t: string) => new RegExp(`<${t}>([^<]+)</${t}>`).exec(xml)?.[1];
  const [accessKeyId, secretAccessKey, sessionToken] = [tag("AccessKeyId"), tag("SecretAccessKey"), tag("SessionToken")];
  if (!accessKeyId || !secretAccessKey || !sessionToken) throw new SecretError("STS AssumeRoleWithWebIdentity: no Credentials in the response");
  return { accessKeyId, secretAccessKey, sessionToken };
}

async function awsCredentials(env: Env): Promise<AwsCredentials> {
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
    private readonly federation?: { aws: NonNullable<Federation["aws"]>; sts: string },
  ) {}
  private async call(target: string, body: object): Promise<Record<string, unknown>> {
    const credentials = this.federation ? await webIdentityCredentials(this.federation.aws, this.federation.sts) : await awsCredentials(this.env);
    const client = new AwsClient({ ...credentials, region: this.region, service: "secretsmanager" });
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

/** Google STS ExchangeToken (RFC 8693): a Kubernetes JWT for a federated access token. */
function stsTokenExchangeRequest(audience: string, token: string): { method: "POST"; headers: Record<string, string>; body: string } {
  const body = {
    grantType: "urn:ietf:params:oauth:grant-type:token-exchange",
    audience,
    scope: "https://www.googleapis.com/auth/cloud-platform",
    requestedTokenType: "urn:ietf:params:oauth:token-type:access_token",
    subjectToken: token,
    subjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
  };
  return { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

/** The Entra client-credentials grant with a federated token as the client assertion. */
function entraTokenRequest(clientId: string, token: string, scope: string): { method: "POST"; headers: Record<string, string>; body: string } {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    scope,
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: token,
  });
  return { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: body.toString() };
}

class GcpSecretStore implements SecretStore {
  constructor(
    readonly ref: string,
    private readonly name: string,
    private readonly endpoint = "https://secretmanager.googleapis.com/v1",
    private readonly metadata = "http://metadata.google.internal",
    private readonly federation?: { gcp: NonNullable<Federation["gcp"]>; sts: string },
  ) {}
  private async token(): Promise<string> {
    if (this.federation) {
      const { gcp, sts } = this.federation;
      const res = await fetch(sts, stsTokenExchangeRequest(gcp.audience, readToken(gcp.tokenFile)));
      return ((await (await ok(res, "GCP STS token exchange")).json()) as { access_token: string }).access_token;
    }
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
    private readonly federation?: NonNullable<Federation["azure"]>,
  ) {
    this.url = `${endpoint}/secrets/${secret}?api-version=7.4`;
  }
  private async token(): Promise<string> {
    // Off AKS the pod's own projected token and the identity's ids come from `federation`; on AKS the webhook's env.
    const [file, client, tenant] = this.federation
      ? [this.federation.tokenFile, this.federation.clientId, this.federation.tenantId]
      : ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"].map((k) => this.env[k]);
    if (!file || !client || !tenant) throw new SecretError("no Azure workload identity: AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID must be set");
    const authority = (this.env["AZURE_AUTHORITY_HOST"] ?? "https://login.microsoftonline.com/").replace(/\/?$/, "/");
    const res = await fetch(`${authority}${tenant}/oauth2/v2.0/token`, entraTokenRequest(client, readToken(file), "https://vault.azure.net/.default"));
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
  /** AWS STS (default: the secret's regional endpoint) and Google STS. */
  sts?: { aws?: string; gcp?: string };
}

/** A secret store; `federation` names the identity for each cloud the pod is not on (omitted: the pod's own cloud). */
export function openSecretStore(ref: string, env: Env = process.env, endpoints: SecretEndpoints = {}, federation: Federation = {}): SecretStore {
  const r = parseSecretRef(ref);
  switch (r.kind) {
    case "aws":
      return new AwsSecretStore(ref, r.region, r.secretId, env, endpoints.aws, federation.aws && { aws: federation.aws, sts: endpoints.sts?.aws ?? `https://sts.${r.region}.amazonaws.com/` });
    case "gcp":
      return new GcpSecretStore(ref, r.name, endpoints.gcp?.api, endpoints.gcp?.metadata, federation.gcp && { gcp: federation.gcp, sts: endpoints.sts?.gcp ?? "https://sts.googleapis.com/v1/token" });
    case "azure":
      return new AzureSecretStore(ref, r.vault, r.secret, env, endpoints.azure, federation.azure);
    case "file":
      return new FileSecretStore(ref, r.path);
  }
}
