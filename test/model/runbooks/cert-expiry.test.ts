import { describe, expect, it } from "vitest";
import { runCli } from "../../cli.js";
import { loadStack } from "../../../stacks/load.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { runbook } from "../../../model/runbooks/cert-expiry.js";

const render = (stack: string) => runbook.render(buildEstateSpec(stack, loadStack(stack)));

describe("meridian runbook cert-expiry", () => {
  it("is served by the CLI with the stack's own issuers, namespaces and commands", () => {
    const r = runCli(["runbook", "cert-expiry", "--stack", "prod"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^# Certificate expiry emergency — stack prod/);
    for (const heading of [
      "## Scenario",
      "## Immediate mitigation (0–5 min)",
      "## Generate an emergency certificate (5–10 min)",
      "## Deploy the new certificate (10–20 min)",
      "## Root cause analysis (post-incident)",
      "## Prevention",
    ]) {
      expect(r.stdout).toContain(heading);
    }
    expect(r.stdout).toContain("`letsencrypt-production` (ACME DNS-01 via route53, zone meridian.example.com)");
    expect(r.stdout).toContain("cmctl --kubeconfig kubeconfig-azure-weu status certificate -n meridian-gateway meridian-gateway-tls");
    expect(r.stdout).toContain("pulumi config get --secret meridian:kubeconfig-aws-use1 > kubeconfig-aws-use1");
    expect(r.stdout).toContain("--dns-route53");
    expect(r.stdout).toContain("Regions in rotation order (canary first): azure-weu → azure-sea → gcp-asne1, gcp-usc1, aws-euw1, aws-use1.");
    expect(r.stdout).toMatch(/`CertificateExpiryCritical` \(< 7 d\)/);
    expect(r.stdout).toContain("mesh handshake success 99.95% over 30 days");
  });

  it("follows each stack: dev's Cloud DNS solver and staging issuer, local's kube contexts", () => {
    const dev = render("dev");
    expect(dev).toContain("`letsencrypt-staging` (ACME DNS-01 via clouddns, zone dev.meridian.example.com)");
    expect(dev).toContain("--dns-google --dns-google-credentials");
    expect(dev).toContain("meridian:gcp-acme-service-account-key");
    expect(dev).toContain("mesh mTLS (STRICT)");
    const local = render("local");
    expect(local).toContain("kubectl --context kind-meridian-aws get certificates -A -o wide");
    expect(local).not.toContain("pulumi config get --secret");
  });

  it("orders every region's deploy step canary first and backs up before replacing", () => {
    const text = render("prod");
    const deploy = text.slice(text.indexOf("## Deploy"), text.indexOf("## Root cause"));
    const regions = [...deploy.matchAll(/^# (\S+)$/gm)].map((m) => m[1]);
    expect(regions).toEqual(["azure-weu", "azure-sea", "gcp-asne1", "gcp-usc1", "aws-euw1", "aws-use1"]);
    expect(deploy.indexOf("get secret meridian-gateway-tls -o yaml > backup-azure-weu")).toBeLessThan(deploy.indexOf("create secret tls meridian-gateway-tls"));
  });
});
