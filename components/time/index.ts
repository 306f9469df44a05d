/** The time area: a TimeFabric per region from the estate's time hierarchy. */
import { timeHierarchy } from "../../model/time/hierarchy.js";
import type { Area } from "../context.js";
import { TimeFabric } from "./time-fabric.js";

export const timeArea: Area = {
  name: "time",
  build(ctx) {
    const outputs: Record<string, { smear: string; sources: string[]; grandmaster: string | null }> = {};
    for (const plan of timeHierarchy(ctx.spec)) {
      const cluster = ctx.clusters.get(plan.region);
      if (cluster === undefined) throw new Error(`time: no cluster for region ${plan.region}`);
      const fabric = new TimeFabric(`${plan.region}-time`, { plan, time: ctx.spec.time, cluster, runtimeImage: ctx.spec.runtime.image, trustDomain: ctx.spec.pki.trustDomain }, { parent: ctx.parent });
      outputs[plan.region] = { smear: fabric.smear, sources: fabric.sources, grandmaster: fabric.grandmasterHost };
    }
    return { regions: outputs };
  },
};
