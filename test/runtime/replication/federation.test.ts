// Cross-cloud secret reads through workload identity federation (issue #13), offline: a loopback server
// stands in for each cloud's token service and secret manager and checks every request against the
// documented format — AWS STS AssumeRoleWithWebIdentity (Query API 2011-06-15, unsigned, the projected
// token as WebIdentityToken; XML Credentials back), then a SigV4 call signed with those credentials; Google
// STS ExchangeToken (RFC 8693 token exchange, JSON body, audience the pool provider's full name), then
// Secret Manager with the federated access token; Entra's client-credentials grant with the projected token
// as client assertion, for the federated identity's client id in its tenant. The config schema refuses the
// shapes each cloud would (a project id where the provider name needs the number, a malformed role ARN).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { federationSchema, openSecretStore } from "../../../runtime/replication/cloud-secrets.js";

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
let server: Server;
let base = "";
let dir = "";
const seen: Seen[] = [];
let respond: (r: Seen) => { status?: number; type?: string; body: string } = () => ({ body: "{}" });

const ROLE = "arn:aws:iam::123456789012:role/meridian-prod-gcp-usc1-sub-aws-use1-from-aws-use1";
const AUDIENCE = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/meridian-prod/providers/aws-use1";
const CLIENT = "2b7e1516-28ae-4d2a-a6ab-f7158809cf4f";
const TENANT = "3c4d5e6f-0718-4293-a4b5-c6d7e8f90a1b";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-federation-"));
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(r);
      const out = respond(r);
      res.writeHead(out.status ?? 200, { "Content-Type": out.type ?? "application/json" }).end(out.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const token = (name: string, jwt: string) => {
  writeFileSync(join(dir, name), `${jwt}\n`);
  return join(dir, name);
};

describe("cross-cloud secret reads by workload identity federation", () => {
  it("AWS: AssumeRoleWithWebIdentity with the projected token, then Secrets Manager signed with the session", async () => {
    seen.length = 0;
    const stsXml = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAFEDERATED</AccessKeyId><SecretAccessKey>fed-secret</SecretAccessKey><SessionToken>fed-session</SessionToken><Expiration>2026-12-04T21:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`;
    respond = (r) => (r.url === "/sts" ? { type: "text/xml", body: stsXml } : { body: JSON.stringify({ SecretString: '{"k":1}' }) });
    const federation = federationSchema.parse({ aws: { roleArn: ROLE, tokenFile: token("aws-token", "gke-projected-jwt") } });
    // No AWS_* environment: a GKE pod has none; the projected token is all it holds.
    const store = openSecretStore("aws-secretsmanager://us-east-1/meridian-prod-aws-use1/replication", {}, { aws: `${base}/sm`, sts: { aws: `${base}/sts` } }, federation);
    expect(await store.read()).toBe('{"k":1}');
    const sts = seen.find((s) => s.url === "/sts")!;
    expect(sts.method).toBe("POST");
    expect(sts.headers["authorization"]).toBeUndefined(); // AssumeRoleWithWebIdentity is not signed
    expect(sts.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    const form = Object.fromEntries(new URLSearchParams(sts.body));
    expect(form).toMatchObject({ Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: ROLE, WebIdentityToken: "gke-projected-jwt", DurationSeconds: "3600" });
    expect(form["RoleSessionName"]).toMatch(/^[\w+=,.@-]{2,64}$/);
    const sm = seen.find((s) => s.url === "/sm")!;
    expect(sm.headers["authorization"]).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAFEDERATED\/\d{8}\/us-east-1\/secretsmanager\/aws4_request, /);
    expect(sm.headers["x-amz-security-token"]).toBe("fed-session");
  });

  it("GCP: the STS token exchange for the pool provider's audience, then Secret Manager with the federated token", async () => {
    seen.length = 0;
    respond = (r) =>
      r.url === "/gsts"
        ? { body: JSON.stringify({ access_token: "federated-access-token", issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer", expires_in: 3599 }) }
        : { body: JSON.stringify({ payload: { data: Buffer.from('{"k":1}').toString("base64") } }) };
    const federation = federationSchema.parse({ gcp: { audience: AUDIENCE, tokenFile: token("gcp-token", "eks-projected-jwt") } });
    const store = openSecretStore(
      "gcp-secretmanager://projects/meridian-prod/secrets/meridian-prod-gcp-usc1-replication",
      {},
      { gcp: { api: `${base}/v1`, metadata: `${base}/no-metadata` }, sts: { gcp: `${base}/gsts` } },
      federation,
    );
    expect(await store.read()).toBe('{"k":1}');
    expect(seen.some((s) => s.url.startsWith("/no-metadata"))).toBe(false); // not on GKE: no metadata server
    const exchange = seen.find((s) => s.url === "/gsts")!;
    expect(exchange.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(exchange.body)).toEqual({
      grantType: "urn:ietf:params:oauth:grant-type:token-exchange",
      audience: AUDIENCE,
      scope: "https://www.googleapis.com/auth/cloud-platform",
      requestedTokenType: "urn:ietf:params:oauth:token-type:access_token",
      subjectToken: "eks-projected-jwt",
      subjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
    });
    expect(seen.find((s) => s.url.startsWith("/v1/"))!.headers["authorization"]).toBe("Bearer federated-access-token");
  });

  it("Azure: the client-credentials grant with the projected token as assertion, ids from the federation config", async () => {
    seen.length = 0;
    respond = (r) => (r.url.endsWith("/oauth2/v2.0/token") ? { body: JSON.stringify({ access_token: "entra-token" }) } : { body: JSON.stringify({ value: '{"k":1}' }) });
    const federation = federationSchema.parse({ azure: { clientId: CLIENT, tenantId: TENANT, tokenFile: token("azure-token", "eks-projected-jwt-for-entra") } });
    const store = openSecretStore("azure-keyvault://meridian/meridian-prod-azure-sea-replication", { AZURE_AUTHORITY_HOST: base }, { azure: `${base}/kv` }, federation);
    expect(await store.read()).toBe('{"k":1}');
    const grant = seen.find((s) => s.url === `/${TENANT}/oauth2/v2.0/token`)!;
    expect(grant.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(grant.body))).toEqual({
      grant_type: "client_credentials",
      client_id: CLIENT,
      scope: "https://vault.azure.net/.default",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: "eks-projected-jwt-for-entra",
    });
    expect(seen.find((s) => s.url.startsWith("/kv/"))!.headers["authorization"]).toBe("Bearer entra-token");
  });

  it("a refused exchange names the token service and its answer", async () => {
    respond = (r) =>
      r.url === "/sts"
        ? { status: 400, type: "text/xml", body: "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>Incorrect token audience</Message></Error></ErrorResponse>" }
        : { body: "{}" };
    const federation = federationSchema.parse({ aws: { roleArn: ROLE, tokenFile: token("aws-token", "jwt") } });
    await expect(openSecretStore("aws-secretsmanager://us-east-1/x", {}, { aws: `${base}/sm`, sts: { aws: `${base}/sts` } }, federation).read()).rejects.toThrow(
      /STS AssumeRoleWithWebIdentity: HTTP 400 .*InvalidIdentityToken.*Incorrect token audience/,
    );
  });

  it("the federation config refuses what the clouds would: a project id in the provider name, a malformed role ARN, a relative token path", () => {
    const bad = federationSchema.safeParse({
      aws: { roleArn: "arn:aws:iam::meridian:role/x", tokenFile: "/t" },
      gcp: { audience: "//iam.googleapis.com/projects/meridian-prod/locations/global/workloadIdentityPools/meridian-prod/providers/aws-use1", tokenFile: "/t" },
      azure: { clientId: CLIENT, tenantId: TENANT, tokenFile: "token" },
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join("."))).toEqual(["aws.roleArn", "gcp.audience", "azure.tokenFile"]);
  });
});
