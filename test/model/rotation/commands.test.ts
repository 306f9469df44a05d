import { describe, expect, it } from "vitest";
import { loadStack } from "../../../stacks/load.js";
import { buildEstateSpec, regionById } from "../../../model/estate.js";
import { clusterFlag, fetchKubeconfig, waveCommands } from "../../../model/rotation/commands.js";

const prod = buildEstateSpec("prod", loadStack("prod"));
const local = buildEstateSpec("local", loadStack("local"));

describe("per-region rotation commands", () => {
  it("reach a cluster through its kubeconfig source: secret config key or kube context", () => {
    const aws = regionById(prod, "aws-use1");
    expect(clusterFlag(aws)).toBe("--kubeconfig kubeconfig-aws-use1");
    expect(fetchKubeconfig(aws)).toBe("pulumi config get --secret meridian:kubeconfig-aws-use1 > kubeconfig-aws-use1");
    expect(clusterFlag(regionById(local, "local-gcp"))).toBe("--context kind-meridian-gcp");
    expect(fetchKubeconfig(regionById(local, "local-gcp"))).toBeUndefined();
  });

  it("back up, renew, wait for the next revision, and restore the backup on rollback", () => {
    const c = waveCommands(regionById(local, "local-aws"));
    expect(c.backup).toBe(
      "kubectl --context kind-meridian-aws -n meridian-gateway get secret meridian-gateway-tls -o yaml > backup-local-aws-meridian-gateway-tls.yaml; " +
        "rev_local_aws=$(kubectl --context kind-meridian-aws -n meridian-gateway get certificate meridian-gateway-tls -o jsonpath='{.status.revision}')",
    );
    expect(c.renew).toBe("cmctl --context kind-meridian-aws renew -n meridian-gateway meridian-gateway-tls");
    expect(c.watch).toContain("--for=jsonpath='{.status.revision}'=$((rev_local_aws+1))");
    expect(c.rollback).toBe("kubectl --context kind-meridian-aws -n meridian-gateway replace --force -f backup-local-aws-meridian-gateway-tls.yaml");
  });
});
