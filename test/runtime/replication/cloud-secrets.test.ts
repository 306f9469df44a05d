// The secret-manager adapters speak each cloud's documented REST protocol: a loopback server stands in
// for the cloud (and its identity endpoint) and checks each request as the cloud would see it — the
// SigV4-signed Secrets Manager JSON call with Pod Identity credentials, the GKE metadata token and Secret
// Manager's base64 payloads, the Entra workload-identity exchange and Key Vault's GET/PUT. Reference URIs
// that name no secret are refused naming what is wrong.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { parseSecretRef } from "../../../runtime/replication/secret-store.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
let server: Server;
let base = "";
let dir = "";
const seen: Seen[] = [];
let respond: (r: Seen) => { status?: number; body: unknown } = () => ({ body: {} });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-secrets-"));
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(r);
      const out = respond(r);
      res.writeHead(out.status ?? 200, { "Content-Type": "application/json" }).end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("secret-manager adapters", () => {
  it("AWS Secrets Manager: SigV4-signed GetSecretValue / PutSecretValue with EKS Pod Identity credentials", async () => {
    seen.length = 0;
    writeFileSync(join(dir, "eks-token"), "pod-identity-token\n");
    respond = (r) =>
      r.url === "/creds"
        ? { body: { AccessKeyId: "AKIDPOD", SecretAccessKey: "secret", Token: "session" } }
        : r.headers["x-amz-target"] === "secretsmanager.GetSecretValue"
          ? { body: { SecretString: '{"k":1}' } }
          : { body: {} };
    const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: join(dir, "eks-token") };
    const store = openSecretStore("aws-secretsmanager://us-east-1/meridian-prod-aws-use1/replication", env, { aws: `${base}/sm` });
    expect(await store.read()).toBe('{"k":1}');
    await store.write('{"k":2}');
    const calls = seen.filter((s) => s.url === "/sm");
    expect(seen.find((s) => s.url === "/creds")!.headers["authorization"]).toBe("pod-identity-token");
    expect(calls.map((c) => [c.headers["x-amz-target"], JSON.parse(c.body)])).toEqual([
      ["secretsmanager.GetSecretValue", { SecretId: "meridian-prod-aws-use1/replication" }],
      ["secretsmanager.PutSecretValue", { SecretId: "meridian-prod-aws-use1/replication", SecretString: '{"k":2}' }],
    ]);
    for (const c of calls) {
      expect(c.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDPOD\/\d{8}\/us-east-1\/secretsmanager\/aws4_request, SignedHeaders=.*x-amz-target.*, Signature=[0-9a-f]{64}$/);
      expect(c.headers["x-amz-security-token"]).toBe("session");
    }
  });

  it("GCP Secret Manager: a metadata-server token, latest:access and addVersion with base64 payloads", async () => {
    seen.length = 0;
    respond = (r) =>
      r.url.startsWith("/computeMetadata/")
        ? { body: { access_token: "gke-token" } }
        : r.url.endsWith("versions/latest:access")
          ? { body: { payload: { data: Buffer.from('{"k":1}').toString("base64") } } }
          : { body: {} };
    const store = openSecretStore("gcp-secretmanager://projects/meridian-prod/secrets/gcp-usc1-replication", {}, { gcp: { api: `${base}/v1`, metadata: base } });
    expect(await store.read()).toBe('{"k":1}');
    await store.write('{"k":2}');
    expect(seen.find((s) => s.url.startsWith("/computeMetadata/"))!.headers["metadata-flavor"]).toBe("Google");
    const api = seen.filter((s) => s.url.startsWith("/v1/"));
    expect(api.map((c) => [c.method, c.url, c.headers["authorization"]])).toEqual([
      ["GET", "/v1/projects/meridian-prod/secrets/gcp-usc1-replication/versions/latest:access", "Bearer gke-token"],
      ["POST", "/v1/projects/meridian-prod/secrets/gcp-usc1-replication:addVersion", "Bearer gke-token"],
    ]);
    expect(JSON.parse(api[1]!.body)).toEqual({ payload: { data: Buffer.from('{"k":2}').toString("base64") } });
  });

  it("Azure Key Vault: the workload-identity token exchange, then GET and PUT of the secret", async () => {
    seen.length = 0;
    writeFileSync(join(dir, "azure-token"), "federated-jwt\n");
    respond = (r) => (r.url.endsWith("/oauth2/v2.0/token") ? { body: { access_token: "entra-token" } } : r.method === "GET" ? { body: { value: '{"k":1}' } } : { body: {} });
    const env = { AZURE_FEDERATED_TOKEN_FILE: join(dir, "azure-token"), AZURE_CLIENT_ID: "client-1", AZURE_TENANT_ID: "tenant-1", AZURE_AUTHORITY_HOST: `${base}/` };
    const store = openSecretStore("azure-keyvault://meridian-prod-kv/azure-sea-replication", env, { azure: `${base}/kv` });
    expect(await store.read()).toBe('{"k":1}');
    await store.write('{"k":2}');
    const token = new URLSearchParams(seen.find((s) => s.url === "/tenant-1/oauth2/v2.0/token")!.body);
    expect(Object.fromEntries(token)).toEqual({
      grant_type: "client_credentials",
      client_id: "client-1",
      scope: "https://vault.azure.net/.default",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: "federated-jwt",
    });
    const vault = seen.filter((s) => s.url.startsWith("/kv/"));
    expect(vault.map((c) => [c.method, c.url, c.headers["authorization"], c.body])).toEqual([
      ["GET", "/kv/secrets/azure-sea-replication?api-version=7.4", "Bearer entra-token", ""],
      ["PUT", "/kv/secrets/azure-sea-replication?api-version=7.4", "Bearer entra-token", JSON.stringify({ value: '{"k":2}' })],
    ]);
  });

  it("a refused call names the secret and the cloud's answer; missing identity names the variables", async () => {
    respond = () => ({ status: 403, body: { message: "AccessDeniedException" } });
    const store = openSecretStore("aws-secretsmanager://eu-west-1/x", { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }, { aws: `${base}/sm` });
    await expect(store.read()).rejects.toThrow(/aws-secretsmanager:\/\/eu-west-1\/x: GetSecretValue: HTTP 403 .*AccessDeniedException/);
    await expect(openSecretStore("aws-secretsmanager://eu-west-1/x", {}).read()).rejects.toThrow(/no AWS credentials/);
    await expect(openSecretStore("azure-keyvault://kv-one/s", {}).read()).rejects.toThrow(/AZURE_FEDERATED_TOKEN_FILE/);
  });

  it("parses references and refuses malformed ones naming the expected form", () => {
    expect(parseSecretRef("aws-secretsmanager://ap-southeast-1/meridian-prod-aws-apse1/replication")).toEqual({
      kind: "aws",
      region: "ap-southeast-1",
      secretId: "meridian-prod-aws-apse1/replication",
    });
    expect(parseSecretRef("azure-keyvault://meridian-kv/sea-replication")).toEqual({ kind: "azure", vault: "meridian-kv", secret: "sea-replication" });
    expect(() => parseSecretRef("aws-secretsmanager://nowhere")).toThrow(/expected aws-secretsmanager:\/\/<region>\/<secret id>/);
    expect(() => parseSecretRef("gcp-secretmanager://secrets/x")).toThrow(/projects\/<project>\/secrets\/<name>/);
    expect(() => parseSecretRef("vault://x/y")).toThrow(/unknown scheme vault/);
    expect(() => parseSecretRef("file://relative")).toThrow(/absolute/);
  });
});
