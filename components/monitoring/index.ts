/**
 * The monitoring area: per regional cluster, the scrape targets of the mesh's own components (MeshMonitors). The
 * alerts that read them are the PKI area's PrometheusRule (model/rotation/alerts.ts); Meridian's services and the
 * time fabric bring their own monitors (components/workloads, components/time).
 */
import { MESH_SCRAPE_TARGETS, scrapeJob } from "../../model/security/scrape-targets.js";
import type { Area } from "../context.js";
import { MeshMonitors } from "./mesh-monitors.js";

export const monitoringArea: Area = {
  name: "monitoring",
  build(ctx) {
    for (const [id, cluster] of ctx.clusters) new MeshMonitors(`${id}-mesh-monitors`, { cluster }, { parent: ctx.parent });
    return { meshScrapeJobs: MESH_SCRAPE_TARGETS.map(scrapeJob) };
  },
};
