/**
 * Cross-region database failover (outline §14.4.1) with this stack's numbers: for each writer's
 * partition, the standby to promote (the first region in the DNS failover order holding the data,
 * preferring a managed replica over a logical subscriber), the exact promote command for its cloud,
 * the replication hops behind the RPO, and an RTO from the step budget plus DNS detection and TTL.
 */
import { feeders } from "../cost/topology.js";
import { replicationInput } from "../cost/report.js";
import { regionById, type EstateSpec, type Region } from "../estate.js";
import { trafficPolicy } from "../traffic/policy.js";
import { worstTiming } from "../traffic/timing.js";
import type { Runbook } from "./runbook.js";

const STEPS: [string, number][] = [
  ["Confirm the outage", 2],
  ["Stop writes to the primary (fence)", 1],
  ["Promote the standby", 3],
  ["Update DNS", 1],
  ["Restore traffic", 2],
  ["Verify", 5],
];

const id = (env: string, writer: string, region: string) => (writer === region ? `meridian-${env}-${writer}` : `meridian-${env}-${writer}-at-${region}`);

export interface Standby {
  writer: string;
  standby: string;
  role: "replica" | "subscriber";
  /** Replication hops from the writer to the standby, with each hop's mechanism. */
  path: { from: string; to: string; mechanism: "managed" | "logical" }[];
}

export function standbys(spec: EstateSpec): Standby[] {
  const fed = feeders(replicationInput(spec), spec.replication.topology);
  const order = [...spec.dns.failoverOrder, ...spec.regions.map((r) => r.id).filter((r) => !spec.dns.failoverOrder.includes(r))];
  const out: Standby[] = [];
  for (const [writer, holders] of fed) {
    const pathTo = (target: string) => {
      const hops: Standby["path"] = [];
      for (let at = target; holders.get(at); at = holders.get(at)!) {
        const from = holders.get(at)!;
        hops.unshift({ from, to: at, mechanism: regionById(spec, from).cloud === regionById(spec, at).cloud ? "managed" : "logical" });
      }
      return hops;
    };
    const options = order.filter((r) => r !== writer && holders.has(r)).map((r) => ({ r, path: pathTo(r) }));
    const managed = options.find((o) => o.path.every((h) => h.mechanism === "managed"));
    const pick = managed ?? options[0];
    if (pick) out.push({ writer, standby: pick.r, role: managed ? "replica" : "subscriber", path: pick.path });
  }
  return out;
}

function promoteCommand(spec: EstateSpec, s: Standby, region: Region): string {
  const name = id(spec.environment, s.writer, s.standby);
  if (s.role === "subscriber") {
    const sub = `meridian_${s.writer.replaceAll("-", "_")}_from_${s.path.at(-1)!.from.replaceAll("-", "_")}`;
    const conn = `"host=<${name} private endpoint> dbname=meridian"`;
    return [
      `psql ${conn} -c "ALTER SUBSCRIPTION ${sub} DISABLE"`,
      "# logical replication does not carry sequences: move each one past the highest key it owns",
      `psql ${conn} <<'SQL'`,
      "SELECT format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %I.%I), 0) + 1000)', s.oid::regclass, a.attname, n.nspname, t.relname)",
      "FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')",
      "JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace",
      "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid",
      "WHERE s.relkind = 'S' \\gexec",
      "SQL",
    ].join("\n");
  }
  switch (region.cloud) {
    case "aws":
      return `aws rds failover-global-cluster --region ${region.region} --global-cluster-identifier ${id(spec.environment, s.writer, s.writer)}-global --target-db-cluster-identifier ${name} --allow-data-loss`;
    case "gcp":
      return `gcloud sql instances promote-replica ${name}`;
    case "azure":
      return `az postgres flexible-server replica promote --resource-group ${spec.replication.network.azure.resourceGroupName} --name ${name} --promote-mode standalone --promote-option forced`;
  }
}

export const runbook: Runbook = {
  name: "failover",
  title: "Cross-region database failover (confirm, fence, promote, DNS, restore, verify)",
  render(spec) {
    const hc = spec.dns.healthCheck;
    // Detection and drain are the traffic model's numbers (the slowest delegated provider), not recomputed here.
    const timing = worstTiming(trafficPolicy(spec));
    const detection = timing.detectionSeconds;
    const manual = STEPS.reduce((s, [, m]) => s + m, 0);
    const lines = [
      `# Cross-region database failover — stack ${spec.stack}`,
      "",
      `Topology: **${spec.replication.topology}**; writers: ${spec.replication.writers.join(", ")}. DNS: ${spec.dns.providers.primary} ${spec.dns.routing} routing, TTL ${spec.dns.ttlSeconds} s, health checks every ${hc.intervalSeconds} s × ${hc.failureThreshold} failures.`,
      "",
      "## Scenario",
      "A writer region's database is unavailable (region or cloud outage). Each writer owns one partition; fail over only the partitions whose writer is down.",
      "",
      "## Standby per partition",
      "",
      "| writer | standby | role | replication path (hops) |",
      "|---|---|---|---|",
      ...standbys(spec).map((s) => `| ${s.writer} | ${s.standby} | ${s.role} | ${s.path.map((h) => `${h.from} → ${h.to} (${h.mechanism})`).join(", ")} |`),
      "",
      "## Steps",
      "",
      `1. **${STEPS[0]![0]} (${STEPS[0]![1]} min).** Health checks flag the writer after ~${detection} s. Confirm from two vantage points: \`meridian runbook failover --stack ${spec.stack}\` lists the standby; check the provider status page and the replica lag below.`,
      `2. **${STEPS[1]![0]} (${STEPS[1]![1]} min).** If the old primary still answers, fence it so a partition cannot write twice: \`ALTER DATABASE meridian SET default_transaction_read_only = on;\` and scale the writer region's runtime to zero (\`kubectl -n meridian scale deploy --all --replicas=0\`).`,
      `3. **${STEPS[2]![0]} (${STEPS[2]![1]} min).** Per affected partition:`,
      ...standbys(spec).flatMap((s) => [
        "",
        `   - ${s.writer} → ${s.standby}:`,
        "",
        "     ```sh",
        ...promoteCommand(spec, s, regionById(spec, s.standby))
          .split("\n")
          .map((l) => `     ${l}`),
        "     ```",
      ]),
      "",
      `4. **${STEPS[3]![0]} (${STEPS[3]![1]} min).** Failover records switch on their own once health checks fail; clients follow within the ${spec.dns.ttlSeconds} s TTL. Point the runtime's database endpoint for the partition at the promoted standby.`,
      `5. **${STEPS[4]![0]} (${STEPS[4]![1]} min).** Scale the runtime up in the standby region; re-point downstream subscribers of the old primary at the promoted one (\`ALTER SUBSCRIPTION … CONNECTION …\`).`,
      `6. **${STEPS[5]![0]} (${STEPS[5]![1]} min).** Writes succeed in the new region; replicas report lag near zero (\`SELECT * FROM pg_stat_replication\` on the new primary, \`SELECT * FROM pg_stat_subscription\` on subscribers, \`aurora_global_db_status()\` on Aurora).`,
      "",
      "## RTO / RPO",
      "",
      `- **RTO** ≈ ${manual} min of manual steps (${STEPS.map(([, m]) => m).join(" + ")}), plus ${detection} s detection and ${timing.drainSeconds} s DNS TTL: **≈ ${Math.ceil(manual + timing.rtoSeconds / 60)} min**. The DNS part alone (detection + TTL) is ${timing.rtoSeconds} s.`,
      "- **RPO** = the standby's replication lag at the moment of failure: writes not yet applied on it are lost (hence `--allow-data-loss` / forced promotion). Lag grows with each hop: managed hops replicate storage or WAL; logical hops also lag by the subscriber's apply rate. Measure lag continuously and alert on it; the hops above are what the RPO depends on.",
      "",
    ];
    return lines.join("\n");
  },
};
