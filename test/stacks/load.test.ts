import { describe, expect, it } from "vitest";
import { StackConfigError } from "../../model/config/errors.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../stacks/load.js";
import { planStack } from "../../components/preview/plan.js";
import { COMPUTED } from "../harness.js";

function broken(mutate: (config: Record<string, unknown>) => void): Record<string, unknown> {
  const config = structuredClone(readStackConfigMap("prod"));
  mutate(config);
  return config;
}

function problemsOf(fn: () => unknown): StackConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StackConfigError) return err;
    throw err;
  }
  throw new Error("expected a StackConfigError");
}

describe("stack config validation", () => {
  it("parses every shipped stack", () => {
    for (const stack of ["local", "dev", "staging", "prod"]) expect(loadStack(stack).environment).toBe(stack);
  });

  it("reports every problem at once with file, key path, value and expectation", () => {
    const config = broken((c) => {
      const regions = c["meridian:regions"] as Record<string, unknown>[];
      regions[2]!["cloud"] = "ibm";
      regions[0]!["location"] = { lat: 95, lon: 0 };
      (c["meridian:dns"] as Record<string, unknown>)["ttlSeconds"] = -5;
      (c["meridian:replication"] as Record<string, unknown>)["writers"] = ["aws-use1", "mars-1"];
      delete c["meridian:budget"];
    });
    const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.prod.yaml"));
    const byKey = new Map(err.problems.map((p) => [p.keyPath, p]));
    expect(err.message).toContain("stacks/Pulumi.prod.yaml: 5 config problems");
    expect(byKey.get("meridian:regions[2].cloud")).toMatchObject({ value: '"ibm"' });
    expect(byKey.get("meridian:regions[2].cloud")?.expected).toMatch(/aws.*gcp.*azure/);
    expect(byKey.get("meridian:regions[0].location.lat")).toMatchObject({ value: "95" });
    expect(byKey.get("meridian:dns.ttlSeconds")).toMatchObject({ value: "-5" });
    expect(byKey.get("meridian:replication.writers[1]")?.expected).toMatch(/unknown region id; expected one of aws-use1/);
    expect(byKey.get("meridian:budget")).toMatchObject({ value: "(missing)" });
  });

  it("rejects unknown keys and duplicate region ids", () => {
    const config = broken((c) => {
      const regions = c["meridian:regions"] as Record<string, unknown>[];
      regions[1]!["id"] = regions[0]!["id"];
      regions[1]!["zone"] = "a";
    });
    const err = problemsOf(() => parseEstateConfig(config, "x.yaml"));
    expect(err.problems.map((p) => p.keyPath)).toEqual(expect.arrayContaining(["meridian:regions[1]", "meridian:regions[1].id"]));
    expect(err.message).toMatch(/unknown key zone/);
    expect(err.message).toMatch(/duplicate region id/);
  });

  it("an unknown stack names the stacks that exist", () => {
    const err = problemsOf(() => loadStack("nope"));
    expect(err.message).toMatch(/no such stack; expected one of dev, local, prod, staging/);
  });

  it("a bad config stops the program before any resource is registered", async () => {
    await expect(planStack("prod", { configOverrides: { "meridian:environment": "qa" } })).rejects.toThrow(/meridian:environment: got "qa"/);
  });

  it("a plan without cloud values shows them as computed", async () => {
    const plan = await planStack("dev");
    expect(Object.values(plan.outputs["endpoints"] as object)).toEqual([COMPUTED, COMPUTED]);
  });
});

describe("model checks at load time", () => {
  it("an impossible time hierarchy is a config problem naming meridian:time and the fix", () => {
    const config = structuredClone(readStackConfigMap("dev"));
    // GCP's metadata server smears leap seconds; an unsmeared cloud estate has no source there (a relay would have nothing to poll).
    config["meridian:time"] = { ...(config["meridian:time"] as object), leapSmear: false, grandmaster: { enabled: false }, references: [] };
    const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.dev.yaml"));
    expect(err.problems.length).toBe(2);
    for (const p of err.problems) {
      expect(p.keyPath).toBe("meridian:time");
      expect(p.expected).toMatch(/has no independent unsmeared time source.*or set meridian:time\.leapSmear to true/);
    }
  });

  it("a cloud stack whose regions have no independent source (no simulator there, nothing for the relay to poll) is refused at load", () => {
    const config = structuredClone(readStackConfigMap("staging"));
    config["meridian:time"] = { ...(config["meridian:time"] as object), references: [] };
    const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml"));
    expect(err.problems.length).toBeGreaterThan(0);
    for (const p of err.problems) {
      expect(p.keyPath).toBe("meridian:time");
      expect(p.value).toContain('"references":[]');
      expect(p.expected).toMatch(
        /has no independent unsmeared time source \(the simulated grandmaster runs only in local; a relay needs references to vote over\): add an independent unsmeared reference under meridian:time\.references/,
      );
    }
  });

  it("a relay with fewer than three references is refused at load, naming each region and the count", () => {
    const config = structuredClone(readStackConfigMap("staging"));
    config["meridian:time"] = { ...(config["meridian:time"] as object), references: [{ server: "nts.netnod.se" }, { server: "ptbtime1.ptb.de" }] };
    const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml"));
    expect(err.message).toContain("stacks/Pulumi.staging.yaml");
    expect(err.problems.map((p) => [p.keyPath, /^region (\S+) \(\w+\): its grandmaster relay would vote over (\d) /.exec(p.expected)?.slice(1, 3).join(" ")])).toEqual([
      ["meridian:time", "aws-use1 2"],
      ["meridian:time", "gcp-euw1 2"],
      ["meridian:time", "azure-sea 2"],
    ]);
    expect(err.problems[0]!.expected).toMatch(/Marzullo's majority needs at least 3 to outvote one falseticker: add independent unsmeared references under meridian:time\.references/);
  });

  it("a health check on a port or protocol the regional gateway does not serve is refused at load", () => {
    const config = structuredClone(readStackConfigMap("staging"));
    const dns = config["meridian:dns"] as Record<string, unknown>;
    for (const healthCheck of [
      { protocol: "HTTP", port: 80 },
      { protocol: "HTTPS", port: 8443 },
      { protocol: "HTTP", port: 443 },
    ]) {
      config["meridian:dns"] = { ...dns, healthCheck: { ...(dns["healthCheck"] as object), ...healthCheck } };
      const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml"));
      expect(err.problems).toEqual([
        { keyPath: "meridian:dns.healthCheck", value: JSON.stringify(healthCheck), expected: expect.stringMatching(/^HTTPS \(or TCP\) on port 443: the regional gateway serves only HTTPS there/) },
      ]);
    }
    config["meridian:dns"] = { ...dns, healthCheck: { ...(dns["healthCheck"] as object), protocol: "TCP", port: 443 } };
    expect(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml")).not.toThrow();
  });

  it("an A record holding a load balancer's name (or any non-address) is refused at load, naming the record", () => {
    const config = structuredClone(readStackConfigMap("staging"));
    const dns = config["meridian:dns"] as Record<string, unknown>;
    const lb = "k8s-gateway-0123456789.elb.us-east-1.amazonaws.com";
    config["meridian:dns"] = {
      ...dns,
      records: [
        { name: "status", type: "A", values: ["192.0.2.10", lb] },
        { name: "v6", type: "AAAA", values: ["192.0.2.11"] },
      ],
    };
    const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml"));
    expect(err.problems).toEqual([
      {
        keyPath: "meridian:dns.records[0].values[1]",
        value: lb,
        expected: expect.stringMatching(/^an IPv4 address: A records hold addresses only\. This is an AWS load balancer's name: point at it with a CNAME \(an alias on Route 53\)/),
      },
      { keyPath: "meridian:dns.records[1].values[0]", value: "192.0.2.11", expected: "an IPv6 address: AAAA records hold addresses only." },
    ]);
    config["meridian:dns"] = {
      ...dns,
      records: [
        { name: "status", type: "CNAME", values: [lb] },
        { name: "v6", type: "AAAA", values: ["2001:db8::1"] },
      ],
    };
    expect(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml")).not.toThrow();
  });

  it("an AWS region with no known NLB hosted zone is refused when Route 53 must alias its gateway", () => {
    const config = structuredClone(readStackConfigMap("staging"));
    const regions = config["meridian:regions"] as { cloud: string; region: string }[];
    const i = regions.findIndex((r) => r.cloud === "aws");
    config["meridian:regions"] = regions.map((r, j) => (j === i ? { ...r, region: "mx-central-1" } : r));
    const err = problemsOf(() => parseEstateConfig(config, "stacks/Pulumi.staging.yaml"));
    expect(err.problems).toContainEqual({
      keyPath: `meridian:regions[${i}].region`,
      value: "mx-central-1",
      expected: expect.stringMatching(/^an AWS region with a known Network Load Balancer hosted zone/),
    });
  });
});
