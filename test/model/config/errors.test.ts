import { describe, expect, it } from "vitest";
import { ConfigMistake, StackConfigError } from "../../../model/config/errors.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { PkiConfigError, dns01Solver } from "../../../model/rotation/issuers.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

describe("config errors are told apart by class, not by name", () => {
  const spec = buildEstateSpec("local", loadStack("local"));
  const onCloudDns = { ...spec, dns: { ...spec.dns, providers: { ...spec.dns.providers, primary: "clouddns" as const } } };

  it("a PKI setting missing for the serving provider is a PkiConfigError: a config mistake, not a StackConfigError", () => {
    let thrown: unknown;
    try {
      dns01Solver(onCloudDns);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(PkiConfigError);
    expect(thrown).toBeInstanceOf(ConfigMistake);
    expect(thrown).not.toBeInstanceOf(StackConfigError);
    expect((thrown as Error).name).toBe("PkiConfigError");
    expect((thrown as Error).message).toMatch(/^meridian:pki\.acme\.dns01\.clouddns: missing/);
  });

  it("loading the stack reports it as one StackConfigError problem at the key to set", () => {
    // dev's zone moves to Azure (Traffic Manager) while its DNS-01 solver is still configured for Cloud DNS only.
    const map = readStackConfigMap("dev") as Record<string, Record<string, unknown>>;
    const dns = map["meridian:dns"]!;
    const changed = { ...map, "meridian:dns": { ...dns, providers: { ...(dns["providers"] as object), primary: "trafficmanager" } } };
    let thrown: unknown;
    try {
      parseEstateConfig(changed, "Pulumi.dev.yaml");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(StackConfigError);
    expect((thrown as StackConfigError).problems).toEqual([{ keyPath: "meridian:pki.acme.dns01.azuredns", value: "(missing)", expected: expect.stringMatching(/served by trafficmanager .*needs/) }]);
  });

  it("a StackConfigError is the same kind of mistake (the CLI prints both without a stack trace, exit 2)", () => {
    expect(new StackConfigError("Pulumi.x.yaml", [])).toBeInstanceOf(ConfigMistake);
  });
});
