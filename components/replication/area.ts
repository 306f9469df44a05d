/** The replication area: one Topology per stack, contributing its copy roles and egress estimate as outputs. */
import type { Area } from "../context.js";
import { Topology } from "./topology.js";

export const replicationArea: Area = {
  name: "replication",
  build(ctx) {
    const topology = new Topology(`${ctx.spec.stack}-replication`, { spec: ctx.spec, clusters: ctx.clusters }, { parent: ctx.parent });
    return { topology: ctx.spec.replication.topology, copies: topology.roles, monthlyEgressUSD: topology.monthlyEgressUSD };
  },
};
