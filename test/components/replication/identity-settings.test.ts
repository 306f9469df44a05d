// The AKS clusters' OIDC issuers are stack input (the program does not create the clusters): an issuer that
// is not an https URL is refused when the stack loads, and an Azure region whose replication workloads need
// an identity but has no issuer stops the plan naming the setting.
import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { buildEstateSpec, regionById } from "../../../model/estate.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { runUnderMocks } from "../../../components/preview/mock-runtime.js";
import type { RegionCluster } from "../../../components/cluster/region-cluster.js";
import { auroraCopy } from "../../../components/replication/aurora.js";
import { azurePostgresCopy } from "../../../components/replication/azure-postgres.js";
import type { CopyRequest } from "../../../components/replication/copy.js";
import { subscription } from "../../../components/replication/logical.js";

const withIssuers = (issuers: Record<string, string>) => {
  const map = readStackConfigMap("prod");
  const replication = map["meridian:replication"] as Record<string, unknown>;
  return { ...map, "meridian:replication": { ...replication, identity: { azure: { oidcIssuers: issuers } } } };
};

describe("meridian:replication.identity.azure.oidcIssuers", () => {
  it("refuses an issuer that is not an https URL, naming the key", () => {
    expect(() => parseEstateConfig(withIssuers({ "azure-sea": "http://southeastasia.oic.prod-aks.azure.com/t/c/" }), "prod")).toThrow(
      /replication\.identity\.azure\.oidcIssuers\.azure-sea[\s\S]*OIDC issuer URL \(https:\/\/…\)/,
    );
  });

  it("a plan with an Azure replication workload and no issuer for its region stops, naming the setting", async () => {
    const spec = buildEstateSpec("prod", parseEstateConfig(withIssuers({}), "prod"));
    let refused: unknown;
    await runUnderMocks(
      () => {
        const { network, databases } = spec.replication;
        const req = (region: string, role: CopyRequest["role"], publishes: boolean): CopyRequest => ({ writer: "aws-use1", region: regionById(spec, region), role, publishes, environment: "prod" });
        const publisher = auroraCopy(req("aws-use1", "primary", true), network.aws, databases.aws, false, {});
        const target = azurePostgresCopy({ ...req("azure-sea", "subscriber", false), feeder: publisher }, network.azure, databases, {});
        const cluster = { region: regionById(spec, "azure-sea"), provider: new k8s.Provider("azure-sea-k8s", { kubeconfig: "{}" }) } as unknown as RegionCluster;
        try {
          subscription(spec, publisher, target, cluster, { psql: "postgres", runtime: spec.runtime.image }, [], {});
        } catch (e) {
          refused = e;
        }
      },
      { stack: "prod", config: {}, cloudValues: "fake" },
    );
    expect(String(refused)).toMatch(/meridian:replication\.identity\.azure\.oidcIssuers\.azure-sea is not set: the AKS cluster's OIDC issuer URL/);
  }, 60_000);
});
