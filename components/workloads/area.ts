/**
 * The workloads area: a RuntimeServices per regional cluster, pointed at the ledger primary the
 * replication topology built (the first writer's partition primary, model/workloads `ledgerRegion`).
 * It runs after the replication area and reads that area's databases; it never creates a database.
 */
import type * as pulumi from "@pulumi/pulumi";
import { ledgerRegion } from "../../model/workloads/config.js";
import type { Area, EstateContext } from "../context.js";
import { DATABASE_NAME, type DatabaseCopy } from "../replication/copy.js";
import { Topology } from "../replication/topology.js";
import { RegionGateway } from "./gateway.js";
import { RuntimeServices } from "./runtime-services.js";
import type { ManagedRedisCluster } from "./allocator-cluster.js";
import { TenantQuotas } from "./tenant-quotas.js";

const POSTGRES_PORT = 5432;

/**
 * The replication area's Topology under the Estate. Areas share no state but their parent, and Pulumi
 * keeps a component's children (used for `dependsOn` on components); this reads them rather than
 * widening EstateContext for one consumer.
 */
function replicationCopies(ctx: EstateContext): DatabaseCopy[] {
  const children = (ctx.parent as unknown as { __childResources?: Set<pulumi.Resource> }).__childResources ?? new Set();
  const topology = [...children].find((c): c is Topology => c instanceof Topology);
  if (!topology) throw new Error("workloads: no meridian:replication:Topology under the estate; the replication area must come before workloads in components/areas.ts");
  return topology.copies;
}

function ledgerPrimary(ctx: EstateContext): DatabaseCopy {
  const writer = ledgerRegion(ctx.spec);
  const primary = replicationCopies(ctx).find((c) => c.writer === writer && c.role === "primary");
  if (!primary) throw new Error(`workloads: the replication topology has no primary for writer ${writer}`);
  return primary;
}

export const workloadsArea: Area = {
  name: "workloads",
  build(ctx) {
    const primary = ledgerPrimary(ctx);
    const services: Record<string, string[]> = {};
    // The ledger region first: its RuntimeServices creates the allocator's managed cluster the standbys' Secrets name.
    const ledger = ledgerRegion(ctx.spec);
    const clusters = [...ctx.clusters].sort(([a], [b]) => Number(b === ledger) - Number(a === ledger));
    let allocatorCluster: ManagedRedisCluster | undefined;
    for (const [id, cluster] of clusters) {
      const runtime = new RuntimeServices(
        `${id}-runtime`,
        {
          spec: ctx.spec,
          region: cluster.region,
          cluster,
          postgres: { host: primary.host, port: POSTGRES_PORT, database: DATABASE_NAME },
          allocatorCluster,
        },
        { parent: ctx.parent },
      );
      allocatorCluster ??= runtime.allocatorCluster;
      // The gateway needs the mesh and its certificate: components/areas.ts builds pki first.
      const pki = ctx.pki.get(id);
      if (!pki) throw new Error(`workloads: no PKI for region ${id}; the pki area must come before workloads in components/areas.ts`);
      new RegionGateway(`${id}-gateway`, { spec: ctx.spec, region: cluster.region, cluster, after: [...pki.mesh, pki.gatewayCertificate] }, { parent: ctx.parent });
      services[id] = runtime.workloads.filter((w) => w.replicas > 0).map((w) => w.service.name);
      if (ctx.spec.runtime.quota.tenants.length) new TenantQuotas(`${id}-tenants`, { spec: ctx.spec, region: cluster.region, cluster, after: pki.mesh }, { parent: ctx.parent });
    }
    // Store URLs carry credentials: they stay in the regions' Secrets, never in stack outputs.
    return { runtimeImage: ctx.spec.runtime.image, runtimeLedgerRegion: ledgerRegion(ctx.spec), runtimeServices: services };
  },
};
