import { describe, expect, it } from "vitest";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../cli.js";
import { stackFile } from "../../../stacks/load.js";
import { byName, evaluateStack, ofType } from "../../harness.js";
import { readStackConfigMap, loadStack } from "../../../stacks/load.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { secretKeys } from "../../../model/secrets.js";
import { ACME_SERVERS } from "../../../model/rotation/issuers.js";
import { validateCustomResource } from "./schemas.js";

const base = readStackConfigMap("local") as Record<string, Record<string, unknown>>;
const dns = base["meridian:dns"]!;
const pki = base["meridian:pki"]!;
const acme = pki["acme"] as Record<string, unknown>;

const AZURE = {
  subscriptionID: "11111111-2222-4333-8444-555555555555",
  tenantID: "22222222-2222-4333-8444-555555555555",
  clientID: "33333333-2222-4333-8444-555555555555",
  resourceGroupName: "meridian-dns",
};

const cases = [
  {
    provider: "route53",
    dns01: {},
    field: "route53",
    block: {
      region: "us-east-1",
      accessKeyIDSecretRef: { name: "meridian-acme-dns01", key: "access-key-id" },
      secretAccessKeySecretRef: { name: "meridian-acme-dns01", key: "secret-access-key" },
    },
    secrets: { "access-key-id": "<secret aws-acme-access-key-id>", "secret-access-key": "<secret aws-acme-secret-access-key>" },
  },
  {
    provider: "clouddns",
    dns01: { clouddns: { project: "meridian-dns-prod" } },
    field: "cloudDNS",
    block: { project: "meridian-dns-prod", serviceAccountSecretRef: { name: "meridian-acme-dns01", key: "service-account.json" } },
    secrets: { "service-account.json": "<secret gcp-acme-service-account-key>" },
  },
  {
    provider: "trafficmanager",
    dns01: { azuredns: AZURE },
    field: "azureDNS",
    block: { ...AZURE, hostedZoneName: "meridian.localhost.test", environment: "AzurePublicCloud", clientSecretSecretRef: { name: "meridian-acme-dns01", key: "client-secret" } },
    secrets: { "client-secret": "<secret azure-acme-client-secret>" },
  },
  {
    provider: "cloudflare",
    dns01: {},
    field: "cloudflare",
    block: { apiTokenSecretRef: { name: "meridian-acme-dns01", key: "api-token" } },
    secrets: { "api-token": "<secret cloudflare-acme-api-token>" },
  },
] as const;

// A cloud DNS provider checks every 30 s at the fastest common setting (the local resolver's 2 s is refused).
const overrides = (provider: string, dns01: object) => ({
  "meridian:dns": {
    ...dns,
    providers: { primary: provider },
    cloudflare: { accountId: "0123456789abcdef0123456789abcdef" },
    healthCheck: { ...(dns["healthCheck"] as object), intervalSeconds: 30, timeoutSeconds: 5 },
  },
  "meridian:pki": { ...pki, acme: { ...acme, dns01 } },
});

describe("ACME ClusterIssuers: the DNS-01 solver follows the provider serving the zone", () => {
  for (const c of cases) {
    it(`${c.provider} → ${c.field}, credentials from secret config`, async () => {
      // The PKI area is the one that renders ClusterIssuers and the solver's Secret.
      const plan = await evaluateStack("local", { areas: ["pki"], configOverrides: overrides(c.provider, c.dns01) });
      for (const env of ["staging", "production"] as const) {
        const issuer = byName(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer", `local-gcp-letsencrypt-${env}`);
        expect(issuer.inputs["spec"]).toEqual({
          acme: {
            email: "pki@meridian.localhost.test",
            server: ACME_SERVERS[env],
            privateKeySecretRef: { name: `letsencrypt-${env}-account-key` },
            solvers: [{ selector: { dnsZones: ["meridian.localhost.test"] }, dns01: { [c.field]: c.block } }],
          },
        });
        validateCustomResource(issuer.inputs as { apiVersion: string; kind: string });
      }
      const secret = byName(plan, "kubernetes:core/v1:Secret", "local-gcp-meridian-acme-dns01");
      expect(secret.inputs["stringData"]).toEqual(c.secrets);
      expect(ofType(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer").filter((r) => r.name.endsWith("letsencrypt-staging"))).toHaveLength(3);
    }, 30_000);
  }

  it("a zone served only by the local resolver gets no ACME issuers: the gateway certificate comes from the intermediate CA", async () => {
    const plan = await evaluateStack("local");
    expect(ofType(plan, "kubernetes:cert-manager.io/v1:ClusterIssuer").filter((r) => r.name.includes("letsencrypt"))).toEqual([]);
    expect(ofType(plan, "kubernetes:core/v1:Secret").filter((r) => r.name.endsWith("meridian-acme-dns01"))).toEqual([]);
    const gateway = ofType(plan, "kubernetes:cert-manager.io/v1:Certificate").filter((r) => (r.inputs["spec"] as { isCA?: boolean }).isCA !== true);
    expect(gateway).toHaveLength(3);
    for (const cert of gateway) expect((cert.inputs["spec"] as { issuerRef: { name: string } }).issuerRef.name).toBe("meridian-intermediate");
  });

  it("secretKeys() names the solver's credentials, the root certificate and each region's intermediate (never the root's key)", () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    expect(secretKeys(spec)).toEqual(
      expect.arrayContaining([
        "aws-acme-access-key-id",
        "aws-acme-secret-access-key",
        "credentials-pki-root-ca-cert",
        "credentials-pki-intermediate-aws-use1-cert",
        "credentials-pki-intermediate-aws-use1-key",
      ]),
    );
    expect(secretKeys(spec)).not.toContain("credentials-pki-root-ca-key");
    const dev = buildEstateSpec("dev", loadStack("dev"));
    expect(secretKeys(dev)).toContain("gcp-acme-service-account-key");
  });

  it("a zone on Cloud DNS or Azure DNS without the solver's settings is refused naming the key to set", async () => {
    await expect(evaluateStack("local", { configOverrides: overrides("clouddns", {}) })).rejects.toThrow(
      /stacks\/Pulumi\.local\.yaml: 1 config problem\n {2}- meridian:pki\.acme\.dns01\.clouddns: got \(missing\); meridian\.localhost\.test is served by clouddns/,
    );
    await expect(evaluateStack("local", { configOverrides: overrides("trafficmanager", {}) })).rejects.toThrow(/meridian:pki\.acme\.dns01\.azuredns: got \(missing\)/);
  });

  it("`meridian plan` reports the missing solver settings as a config mistake (exit 2, no stack trace)", () => {
    const dir = mkdtempSync(join(tmpdir(), "meridian-pki-"));
    try {
      const file = join(dir, "Pulumi.dev.yaml");
      copyFileSync(stackFile("dev"), file);
      writeFileSync(file, readFileSync(file, "utf8").replace("      dns01: { clouddns: { project: meridian-dev } }\n", ""));
      const r = runCli(["plan", "--stack", "dev"], { env: { MERIDIAN_STACKS_DIR: dir } });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/meridian:pki\.acme\.dns01\.clouddns: got \(missing\); dev\.meridian\.example\.com is served by clouddns/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
