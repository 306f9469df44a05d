/**
 * Topology (`meridian:replication:Topology`): the replication estate for one stack. For each tier-1
 * writer's partition it walks the model's feeders (model/cost/topology.ts) from the writer outwards and
 * builds, per region, the primary, a managed replica when the feeding region is on the same cloud
 * (Aurora Global Database secondary, Cloud SQL cross-region replica, Azure flexible-server replica), or
 * a subscriber fed by PostgreSQL logical replication when the link crosses clouds. A subscriber's
 * publisher is never a managed replica (read-only: no publication, slot or role change there): the model
 * feeds it from the writable copy that replica descends from. It publishes the
 * estate config and the model's priced links in each cluster (ConfigMap `meridian-replication`), which
 * the policy pack reads; it computes no price itself.
 */
import { PSQL_IMAGE, pinnedImage } from "../../model/images/charts.js";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { feeders } from "../../model/cost/topology.js";
import { replicationEgress, replicationInput } from "../../model/cost/report.js";
import { centsToString } from "../../model/cost/money.js";
import { NAMESPACES, regionById, type EstateSpec } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { auroraCopy } from "./aurora.js";
import { azurePostgresCopy } from "./azure-postgres.js";
import { cloudSqlCopy } from "./cloudsql.js";
import type { CopyRequest, DatabaseCopy } from "./copy.js";
import { monitorLogin, publication, subscription } from "./logical.js";
import { caBundles, caConfigMap } from "./ca.js";
import { replicationMonitor } from "./monitor.js";
import { loginRotation } from "./rotation.js";

export interface TopologyArgs {
  spec: EstateSpec;
  clusters: Map<string, RegionCluster>;
}

export class Topology extends pulumi.ComponentResource {
  public readonly copies: DatabaseCopy[] = [];
  /** `writer@region` → role, for outputs and tests. */
  public readonly roles: Record<string, string> = {};
  /** The model's replication egress estimate (USD/month, decimal string). */
  public readonly monthlyEgressUSD: string;

  constructor(name: string, args: TopologyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:replication:Topology", name, {}, opts);
    const { spec, clusters } = args;
    const { network, topology } = spec.replication;
    const images = { psql: pinnedImage(PSQL_IMAGE, spec.imageDigests), runtime: spec.runtime.image };
    const fed = feeders(replicationInput(spec), topology);
    const child = { parent: this };
    const clusterOf = (id: string) => {
      const c = clusters.get(id);
      if (!c) throw new Error(`no cluster for region ${id}`);
      return c;
    };

    const jobs: (() => void)[] = [];
    /** Each publisher's cross-cloud subscribers: its login rotation moves them all. */
    const subscribersOf = new Map<DatabaseCopy, DatabaseCopy[]>();
    for (const [writer, holders] of fed) {
      const children = (id: string) => [...holders].filter(([, f]) => f === id).map(([r]) => regionById(spec, r));
      const built = new Map<string, DatabaseCopy>();
      const publications = new Map<string, () => pulumi.Resource>();
      // Breadth-first from the writer so every feeder exists before the regions it feeds.
      const queue = [writer];
      while (queue.length) {
        const id = queue.shift()!;
        const region = regionById(spec, id);
        const feederId = holders.get(id) ?? null;
        const feeder = feederId === null ? undefined : built.get(feederId);
        const role = feeder === undefined ? "primary" : feeder.region.cloud === region.cloud ? "replica" : "subscriber";
        const kids = children(id);
        const req: CopyRequest = { writer, region, role, feeder, publishes: kids.some((k) => k.cloud !== region.cloud), environment: spec.environment };
        const copy =
          region.cloud === "aws"
            ? auroraCopy(
                req,
                network.aws,
                spec.replication.databases.aws,
                kids.some((k) => k.cloud === "aws"),
                child,
              )
            : region.cloud === "gcp"
              ? cloudSqlCopy(req, network.gcp, spec.replication.databases, child)
              : azurePostgresCopy(req, network.azure, spec.replication.databases, child);
        if (role === "subscriber" && feeder) {
          // Registered once every copy (and so every CA bundle) is known, below.
          const fid = feeder.region.id;
          if (!publications.has(fid)) {
            let pub: pulumi.Resource | undefined;
            publications.set(fid, () => (pub ??= publication(spec, feeder, clusterOf(fid), images, { ...child, dependsOn: [caMaps.get(fid)!] }).job));
          }
          const pub = publications.get(fid)!;
          jobs.push(() => {
            const sub = subscription(spec, feeder, copy, clusterOf(id), images, [pub(), caMaps.get(id)!], child);
            // The monitor's role after the subscription Job has copied the heartbeat table with the schema.
            monitorLogin(spec, copy, clusterOf(id), images, [sub.job, caMaps.get(id)!], child);
          });
          subscribersOf.set(feeder, [...(subscribersOf.get(feeder) ?? []), copy]);
        }
        if (role === "primary") jobs.push(() => monitorLogin(spec, copy, clusterOf(id), images, [caMaps.get(id)!], child));
        built.set(id, copy);
        this.copies.push(copy);
        this.roles[`${writer}@${id}`] = role;
        queue.push(...kids.map((k) => k.id));
      }
    }

    // Every cluster trusts the CA of every copy (a handful of bundles): its monitor and Jobs verify with them.
    const caMaps = new Map([...clusters].map(([id, cluster]) => [id, caConfigMap(cluster, caBundles(this.copies), child)]));
    for (const register of jobs) register();
    // Every copy with a `monitor` login is rotated: a subscriber by its publisher's rotation, a publisher by its own,
    // and a writer's primary that publishes nowhere by one of its own that rotates that login only.
    const rotated = [...subscribersOf, ...this.copies.filter((c) => c.role === "primary" && !subscribersOf.has(c)).map((c) => [c, []] as const)];
    for (const [publisher, subscribers] of rotated) {
      loginRotation(spec, publisher, subscribers, clusterOf(publisher.region.id), { ...child, dependsOn: [caMaps.get(publisher.region.id)!] });
    }

    const egress = replicationEgress(spec);
    this.monthlyEgressUSD = centsToString(egress.monthlyCents);
    const links = egress.links.map((l) => ({ from: l.from, to: l.to, kind: l.kind, gbPerMonth: l.gb, listMonthlyUSD: centsToString(l.monthlyCents), carries: l.carries }));
    const data = {
      "estate.json": JSON.stringify(spec),
      "links.json": JSON.stringify({ topology, links, monthlyUSD: centsToString(egress.monthlyCents) }),
    };
    for (const [id, cluster] of clusters) {
      new k8s.core.v1.ConfigMap(
        `${id}-meridian-replication`,
        {
          metadata: { name: "meridian-replication", namespace: NAMESPACES.runtime, labels: { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication" } },
          data,
        },
        { parent: this, provider: cluster.provider },
      );
    }
    // Each region's lag monitor, which the gateway's `/healthz/replication` signal probes.
    for (const [id, cluster] of clusters) replicationMonitor(spec, cluster, this.copies, { ...child, dependsOn: [caMaps.get(id)!] });
    this.registerOutputs({ roles: this.roles, monthlyEgressUSD: this.monthlyEgressUSD });
  }
}
