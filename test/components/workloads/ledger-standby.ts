// Two regions' RuntimeServices components alone — the allocator's ledger region, then a standby handed the ledger's
// managed cluster — under the recording mock runtime with the offline provider rules, not the whole estate (#23).
import * as k8s from "@pulumi/kubernetes";
import { runUnderMocks, type RecordedResource } from "../../../components/preview/mock-runtime.js";
import type { RegionCluster } from "../../../components/cluster/region-cluster.js";
import { RuntimeServices } from "../../../components/workloads/runtime-services.js";
import { regionById, type EstateSpec } from "../../../model/estate.js";

/** The resources the ledger region `ledgerId` and the standby `standbyId` record; the run throws on a provider refusal. */
export async function runLedgerAndStandby(spec: EstateSpec, ledgerId: string, standbyId: string): Promise<RecordedResource[]> {
  const run = await runUnderMocks(
    () => {
      const clusterOf = (id: string) => {
        const provider = new k8s.Provider(`${id}-k8s`, { kubeconfig: "{}" });
        const runtime = new k8s.core.v1.Namespace(`${id}-runtime-ns`, { metadata: { name: "meridian-runtime" } }, { provider });
        return { region: regionById(spec, id), provider, namespaces: { runtime } } as unknown as RegionCluster;
      };
      const postgres = { host: "10.0.0.5", port: 5432, database: "meridian" };
      // The ledger region first, as the workloads area builds them: its component creates the cluster.
      const ledger = new RuntimeServices(`${ledgerId}-runtime`, { spec, region: regionById(spec, ledgerId), cluster: clusterOf(ledgerId), postgres });
      new RuntimeServices(`${standbyId}-runtime`, { spec, region: regionById(spec, standbyId), cluster: clusterOf(standbyId), postgres, allocatorCluster: ledger.allocatorCluster });
    },
    { stack: "dev", config: {}, cloudValues: "fake" },
  );
  return run.resources;
}
