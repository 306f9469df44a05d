import { describe, expect, it } from "vitest";
import { runbook } from "../../../model/runbooks/regional-outage.js";
import { runCli } from "../../cli.js";
import { specWithDns } from "../traffic/fixtures.js";

describe("regional-outage runbook", () => {
  it("prints the timeline and RTO from the stack's health-check numbers", () => {
    const md = runbook.render(specWithDns("prod"));
    expect(md).toMatch(/^# Regional outage — stack `prod`/);
    expect(md).toContain("| route53 | 30 s × 3 | 6 s | 1 min 36 s | 1 min | **2 min 36 s** | 1 min 30 s |");
    expect(md).toContain("**RTO: 2 min 36 s** (route53, the slowest delegated provider)");
    expect(md).toContain("| T+1 min 36 s | DNS update | route53 marks aws-use1 unhealthy");
    expect(md).toContain("| clients in europe | aws-euw1 50%, azure-weu 50% | aws-euw1 50%, azure-weu 50% |");
    expect(md).toContain("| clients in north-america | aws-use1 50%, gcp-usc1 50% | gcp-usc1 100% |");
    expect(md).toContain("aws-use1 is a writer");
    expect(md).toContain("The other writers (aws-euw1, gcp-asne1) keep accepting writes");
    for (const phase of ["Detect and confirm", "Stop writes", "DNS update and draining", "Verify", "Recovery"]) expect(md).toContain(phase);
    expect(md).toContain("npm run meridian -- traffic drain aws-use1 --stack prod");
    expect(md).toContain("npm run meridian -- traffic restore aws-use1 --stack prod");
    expect(md).toContain(
      "az network traffic-manager endpoint update --resource-group meridian-prod-traffic --profile-name meridian-example-com-gslb --type ExternalEndpoints --name aws-use1 --endpoint-status Disabled",
    );
  });

  it("its numbers change when the health-check settings change", () => {
    const fast = runbook.render(
      specWithDns("prod", { providers: { primary: "route53", secondary: "trafficmanager" }, ttlSeconds: 20, healthCheck: { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 2 } }),
    );
    expect(fast).toContain("| route53 | 10 s × 2 | 6 s | 26 s | 20 s | **46 s** | 20 s |");
    expect(fast).toContain("| trafficmanager | 10 s × 2 | 5 s | 25 s | 20 s | **45 s** | 20 s |");
    expect(fast).toContain("**RTO: 46 s**");
    expect(fast).toContain("| T+26 s | DNS update |");
    expect(fast).toContain("one health signal (`/healthz`)");
  });

  it("meridian runbook regional-outage --stack staging prints Markdown with staging's numbers", () => {
    const r = runCli(["runbook", "regional-outage", "--stack", "staging"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^# Regional outage — stack `staging`/);
    expect(r.stdout).toContain("routing **failover**");
    expect(r.stdout).toContain("| every client | aws-use1 100% | gcp-euw1 100% |");
    expect(r.stdout).toContain("aws-use1 was the only writer: promote gcp-euw1 (next in failover order)");
  });
});
