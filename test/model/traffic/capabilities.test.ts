import { describe, expect, it } from "vitest";
import { CAPABILITIES } from "../../../model/traffic/capabilities.js";
import { routingModes } from "../../../model/config/traffic.js";
import { StackConfigError } from "../../../model/config/errors.js";
import { specWithDns } from "./fixtures.js";

function problems(patch: Record<string, unknown>): string[] {
  try {
    specWithDns("prod", patch);
  } catch (err) {
    if (err instanceof StackConfigError) return err.problems.map((p) => `${p.keyPath}: ${p.value}; ${p.expected}`);
    throw err;
  }
  return [];
}

describe("capability matrix", () => {
  const unsupported = Object.entries(CAPABILITIES).flatMap(([provider, c]) => routingModes.filter((m) => c.modes[m] === undefined).map((mode) => [provider, mode] as const));

  it("lists exactly the unsupported combinations the providers have", () => {
    expect(unsupported).toEqual([
      ["route53", "anycast"],
      ["clouddns", "latency"],
      ["clouddns", "anycast"],
      ["trafficmanager", "anycast"],
    ]);
  });

  for (const [provider, mode] of unsupported) {
    it(`${provider} asked for ${mode} is a config error naming both`, () => {
      const found = problems({ routing: mode, providers: { primary: provider }, healthCheck: { intervalSeconds: 30, timeoutSeconds: 5 } });
      expect(found).toHaveLength(1);
      expect(found[0]).toContain("meridian:dns.routing");
      expect(found[0]).toContain(`"${mode}"`);
      expect(found[0]).toContain(`${provider} (providers.primary) cannot route "${mode}"`);
    });
  }

  it("names the slot of a standby that cannot route the mode", () => {
    const found = problems({ routing: "latency", providers: { primary: "route53", standbys: ["clouddns"] } });
    expect(found.some((p) => p.includes('clouddns (providers.standbys.0) cannot route "latency"'))).toBe(true);
  });

  it("rejects intervals, timeouts and thresholds a provider does not accept", () => {
    expect(problems({ providers: { primary: "route53" }, healthCheck: { intervalSeconds: 15, timeoutSeconds: 5 } })).toEqual([
      "meridian:dns.healthCheck.intervalSeconds: 15; route53 (providers.primary) accepts health-check intervals of 10 or 30 s (request interval is 10 (fast) or 30 s; the probe timeout is fixed (4 s connect, 2 s response); CALCULATED checks combine signals)",
    ]);
    expect(problems({ providers: { primary: "clouddns" }, healthCheck: { intervalSeconds: 10, timeoutSeconds: 5 } })[0]).toMatch(/clouddns .* 30-300 s/);
    expect(problems({ providers: { primary: "trafficmanager" }, healthCheck: { intervalSeconds: 30, timeoutSeconds: 20 } })[0]).toMatch(/timeoutSeconds: 20; trafficmanager .* 5-10 s/);
    expect(problems({ providers: { primary: "cloudflare" }, healthCheck: { intervalSeconds: 30, timeoutSeconds: 5, failureThreshold: 8 } })[0]).toMatch(/cloudflare .* at most 6/);
    expect(problems({ healthCheck: { checkerRegions: ["us-east1"] } })[0]).toMatch(/^meridian:dns.healthCheck.checkerRegions\[0\]: "us-east1"; Invalid option: expected one of "north-america"/);
  });

  it("requires a Cloudflare account when Cloudflare serves, and distinct providers", () => {
    expect(problems({ providers: { primary: "cloudflare" }, cloudflare: undefined })).toEqual(["meridian:dns.cloudflare: (missing); cloudflare serves this zone; set dns.cloudflare.accountId"]);
    expect(problems({ providers: { primary: "route53", standbys: ["route53"] } }).join()).toMatch(/must be different/);
  });

  it("the local resolver accepts the local stack's 2 s interval; Route 53 would not", () => {
    expect(() => specWithDns("local")).not.toThrow();
    expect(problems({ providers: { primary: "local" }, routing: "anycast", healthCheck: { intervalSeconds: 2, timeoutSeconds: 1 } })).toEqual([]);
    const local = { providers: { primary: "route53" }, healthCheck: { intervalSeconds: 2, timeoutSeconds: 1 } };
    expect(problems(local)[0]).toMatch(/intervalSeconds: 2; route53/);
  });

  it("rejects malformed MX and CAA values in static records", () => {
    const found = problems({
      records: [
        { name: "@", type: "MX", values: ["mail.example.com"] },
        { name: "@", type: "CAA", values: ["0 issue letsencrypt.org", "bogus"] },
      ],
    });
    expect(found).toEqual([
      'meridian:dns.records[0].values[0]: "mail.example.com"; expected "<preference> <exchange>"',
      'meridian:dns.records[1].values[1]: "bogus"; expected \'<flags> issue|issuewild|iodef "<value>"\'',
    ]);
  });
});

describe("hierarchy duplicates", () => {
  it("a repeat among primary/secondary/tertiary is reported once (by the estate cross-check)", () => {
    const found = problems({ providers: { primary: "route53", secondary: "route53" } });
    expect(found.filter((p) => p.includes("different"))).toHaveLength(1);
  });
});

describe("health signals", () => {
  it("must have unique names other than serving and full", () => {
    const signals = [
      { name: "escrow", path: "/a" },
      { name: "escrow", path: "/b" },
      { name: "full", path: "/c" },
    ];
    expect(problems({ healthCheck: { intervalSeconds: 30, timeoutSeconds: 5, signals } })).toEqual([
      'meridian:dns.healthCheck.signals[1].name: "escrow"; signal names must be unique and not serving or full (they name the combined checks)',
      'meridian:dns.healthCheck.signals[2].name: "full"; signal names must be unique and not serving or full (they name the combined checks)',
    ]);
  });
});
