import { describe, expect, it } from "vitest";
import { runbook } from "../../../model/runbooks/dns-failover.js";
import { runCli } from "../../cli.js";
import { specWithDns } from "../traffic/fixtures.js";

describe("dns-failover runbook", () => {
  it("prod: the delegated secondary takes over by resolver retry; the tertiary needs a registrar change", () => {
    const md = runbook.render(specWithDns("prod"));
    expect(md).toMatch(/^# DNS provider failover — stack `prod`/);
    expect(md).toContain("| route53 | delegated | 4 names (api.meridian.example.com + 3 static) | 2 min 36 s |");
    expect(md).toContain("| cloudflare | warm standby |");
    expect(md).toContain("| T+2 s | resolvers retry clouddns; answers continue. |");
    expect(md).toContain("**up to 48 h**");
    expect(md).toContain("pulumi config set --path 'meridian:dns.providers.secondary' cloudflare --stack prod");
    expect(md).toContain("dig +norecurse +short @<trafficmanager nameserver> www.meridian.example.com CNAME");
  });

  it("its numbers follow the stack's health-check settings and hierarchy", () => {
    const md = runbook.render(specWithDns("prod", { healthCheck: { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 2 }, providers: { primary: "route53", secondary: "trafficmanager" } }));
    expect(md).toContain("| route53 | delegated | 4 names (api.meridian.example.com + 3 static) | 1 min 26 s |");
    expect(md).toContain("trafficmanager regional RTO 1 min 25 s");
    expect(md).toContain("No warm standby is configured");
  });

  it("a single provider is called out as a full outage", () => {
    const r = runCli(["runbook", "dns-failover", "--stack", "dev"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("**No secondary is delegated**");
  });
});
