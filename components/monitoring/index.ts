/**
 * The monitoring area: per regional cluster, the scrape targets of the mesh's own components (MeshMonitors; with
 * the east-west gateway's Envoy when the stack is a multi-cluster mesh). The
 * alerts that read them are the PKI area's PrometheusRule (model/rotation/alerts.ts); Meridian's services and the
 * time fabric bring their own monitors (components/workloads, components/time).
 */
import { multiPrimaryMesh } from "../../model/mesh/multi-primary.js";
import { meshScrapeTargets, scrapeJob } from "../../model/security/scrape-targets.js";
import type { Area } from "../context.js";
import { MeshMonitors } from "./mesh-monitors.js";

export const monitoringArea: Area = {
  name: "monitoring",
  build(ctx) {
    const targets = meshScrapeTargets(multiPrimaryMesh(ctx.spec) !== undefined);
    for (const [id, cluster] of ctx.clusters) new MeshMonitors(`${id}-mesh-monitors`, { cluster, targets }, { parent: ctx.parent });
    return { meshScrapeJobs: targets.map(scrapeJob) };
  },
};
