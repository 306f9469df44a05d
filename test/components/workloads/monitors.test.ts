// Every runtime service of every prod region gets a PodMonitor, valid against prometheus-operator's CRD schema,
// selecting exactly its pods on the sidecar agent's merged-metrics port, and its pods say where the app's metrics are.
import { describe, expect, it } from "vitest";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { workloadManifests } from "../../../components/workloads/manifests.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { MERGED_METRICS } from "../../../model/security/istio-injection.js";
import { RUNTIME_SERVICES, podSelector } from "../../../model/services.js";
import { regionWorkloads } from "../../../model/workloads/spec.js";
import { loadStack } from "../../../stacks/load.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const ctx = { environment: spec.environment, trustDomain: spec.pki.trustDomain, maxOffsetMs: spec.time.maxOffsetMs, requireEpoch: spec.time.gateway.requireEpoch };

describe("runtime PodMonitors (prod)", () => {
  it("one per service and region, schema-valid, selecting the service's pods on the merged endpoint", () => {
    for (const region of spec.regions) {
      const workloads = regionWorkloads(spec, region.id);
      // A witness only in the regions the stack deploys one in.
      const witnessed = spec.runtime.prooflog.witnesses.some((w) => typeof w !== "string" && "region" in w && w.region === region.id);
      expect(workloads.map((w) => w.service.name).sort()).toEqual(
        RUNTIME_SERVICES.map((s) => s.name)
          .filter((n) => n !== "witness" || witnessed)
          .sort(),
      );
      for (const w of workloads) {
        const m = workloadManifests(w, ctx);
        expect(() => new PodMonitor(m.podMonitor as never).validate(), `${region.id} ${w.service.name}`).not.toThrow();
        expect(m.podMonitor.metadata.namespace).toBe(w.service.namespace);
        expect(m.podMonitor.spec.selector.matchLabels).toEqual(podSelector(w.service));
        expect(m.podMonitor.spec.podMetricsEndpoints).toEqual([{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "30s" }]);
        const annotations = (m.controller.args.spec as unknown as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
        expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": String(w.service.ports[0]!.port), "prometheus.io/path": "/metrics" });
      }
    }
  });

  it("the schema check can fail", () => {
    const w = regionWorkloads(spec, spec.regions[0]!.id)[0]!;
    const broken = structuredClone(workloadManifests(w, ctx).podMonitor) as unknown as { spec: { podMetricsEndpoints: { portNumber: unknown }[] } };
    broken.spec.podMetricsEndpoints[0]!.portNumber = "15020";
    expect(() => new PodMonitor(broken as never).validate()).toThrow();
  });
});
