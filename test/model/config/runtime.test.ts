/**
 * The runtime section of a stack's config (model/config/runtime.ts) refuses what the services would refuse at start, so
 * `meridian plan` and `pulumi preview` stop it instead of a pod crash-looping after `pulumi up`.
 */
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../../../model/config/errors.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

/** Staging's config with its quota issuer's JWKS URL replaced. */
function withQuotaJwks(jwksUri: string) {
  const map = readStackConfigMap("staging") as Record<string, Record<string, unknown>>;
  const runtime = map["meridian:runtime"]!;
  const quota = runtime["quota"] as Record<string, unknown>;
  const identity = quota["identity"] as Record<string, unknown>;
  return { ...map, "meridian:runtime": { ...runtime, quota: { ...quota, identity: { ...identity, jwksUri } } } };
}

describe("meridian:runtime.quota.identity.jwksUri", () => {
  it("must be https: the kit fetches an issuer's keys over plain http only from loopback (anyone on the path could swap them)", () => {
    let thrown: unknown;
    try {
      parseEstateConfig(withQuotaJwks("http://id.meridian.example.com/.well-known/jwks.json"), "Pulumi.staging.yaml");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(StackConfigError);
    expect((thrown as StackConfigError).problems).toEqual([expect.objectContaining({ keyPath: "meridian:runtime.quota.identity.jwksUri" })]);
  });

  it("an https URL is taken", () => {
    expect(() => parseEstateConfig(withQuotaJwks("https://id.meridian.example.com/keys"), "Pulumi.staging.yaml")).not.toThrow();
  });
});
