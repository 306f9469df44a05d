/**
 * Regional-outage playbook (outline §14.1.1, §14.4.1): a timeline from T+0 to recovery with this
 * stack's detection, drain and RTO figures per provider, the answers clients get before and after, and
 * the commands to confirm, drain, verify and restore. Every number comes from model/traffic.
 */
import type { EstateSpec } from "../estate.js";
import { answerSet, type AnswerSet } from "../traffic/answer.js";
import { drainCommand, healthCommand, specDrainCommands } from "../traffic/commands.js";
import { CAPABILITIES } from "../traffic/capabilities.js";
import { failoverOrder, trafficPolicy, type TrafficPolicy } from "../traffic/policy.js";
import { formatSeconds, providerTiming, timings, worstTiming } from "../traffic/timing.js";
import type { Runbook } from "./runbook.js";

function shares(set: AnswerSet): string {
  const total = set.answers.reduce((s, a) => s + a.weight, 0);
  const parts = set.answers.map((a) => `${a.regionId} ${Math.round((a.weight / total) * 100)}%`);
  return parts.join(", ") + (set.failOpen ? " (fail-open)" : "");
}

/** Answers before and after the outage, per client continent where the mode depends on it. */
function answerTable(policy: TrafficPolicy, failed: string): string {
  const down = { [failed]: "unhealthy" } as const;
  const rows =
    policy.mode === "geo" || policy.mode === "latency"
      ? policy.geoGroups.map((g) => ({ label: `clients in ${g.continent}`, client: { continent: g.continent } }))
      : [{ label: "every client", client: {} }];
  const lines = rows.map((r) => `| ${r.label} | ${shares(answerSet(policy, {}, r.client))} | ${shares(answerSet(policy, down, r.client))} |`);
  return ["| who | before | after |", "|---|---|---|", ...lines].join("\n");
}

function render(spec: EstateSpec): string {
  const policy = trafficPolicy(spec);
  const failed = policy.targets[0]!.id;
  const primary = providerTiming(policy, policy.providers[0]!);
  const worst = worstTiming(policy);
  const hc = policy.healthCheck;
  const rep = spec.replication;
  const t = (s: number) => `T+${formatSeconds(s)}`;
  const otherWriters = rep.writers.filter((w) => w !== failed);
  const standby = failoverOrder(spec).find((r) => r.id !== failed)!.id;
  const promotion = !rep.writers.includes(failed)
    ? "Nothing to promote: the failed region accepted no writes."
    : otherWriters.length > 0
      ? `The other writers (${otherWriters.join(", ")}) keep accepting writes; no promotion is needed.`
      : `${failed} was the only writer: promote ${standby} (next in failover order) so writes resume, and record it:\n\n\`\`\`sh\npulumi config set --path 'meridian:replication.writers[0]' ${standby} --stack ${spec.stack}\npulumi up --stack ${spec.stack}\n\`\`\``;
  const fullWeight = policy.providers.filter((p) => !CAPABILITIES[p].degradedWeighting);
  const degradedNote =
    policy.signals.length > 1
      ? `A region is **degraded** when ≥ ${Math.round(policy.failingShare * 100)}% of its ${policy.signals.length} signals (${policy.signals.map((s) => s.name).join(", ")}) fail — fewer than ${policy.fullHealthThreshold} passing — and is then weighted at ${spec.dns.degraded.weightFactor}× where answers are weighted; **unhealthy** when all fail.${fullWeight.length > 0 ? ` ${fullWeight.join(", ")} probe only the serving path and keep a degraded region at full weight.` : ""}`
      : `Each region has one health signal (\`${hc.path}\`): it is healthy or unhealthy, never degraded.`;
  const timingRows = timings(policy).map(
    (x) =>
      `| ${x.provider} | ${x.intervalSeconds} s × ${x.failureThreshold} | ${x.probeTimeoutSeconds} s | ${formatSeconds(x.detectionSeconds)} | ${formatSeconds(x.drainSeconds)} | **${formatSeconds(x.rtoSeconds)}** | ${formatSeconds(x.recoverySeconds)} |`,
  );
  const perProvider = (f: (p: TrafficPolicy["providers"][number]) => string) =>
    policy.providers.map((p) => `- **${CAPABILITIES[p].title}**\n\n  \`\`\`sh\n  ${f(p).split("\n").join("\n  ")}\n  \`\`\``).join("\n");

  return `# Regional outage — stack \`${spec.stack}\`

Service \`${policy.fqdn}\`, routing **${policy.mode}**, served by ${policy.providers.join(" → ")} (delegated: ${policy.delegated.join(" + ")}).
Health checks: ${hc.protocol} :${hc.port} every ${hc.intervalSeconds} s, timeout ${hc.timeoutSeconds} s, ${hc.failureThreshold} failures to mark down. ${degradedNote}

## RTO / RPO

| provider | interval × threshold | probe timeout | detection | drain (TTL) | RTO | back in rotation |
|---|---|---|---|---|---|---|
${timingRows.join("\n")}

- **RTO: ${formatSeconds(worst.rtoSeconds)}** (${worst.provider}, the slowest delegated provider) — detection (interval × threshold + probe timeout) plus one TTL for cached answers to expire.
- **RPO (routing): 0** — DNS holds no data. **RPO (data):** writes acknowledged in ${failed} but not yet replicated (${rep.topology} topology, writers ${rep.writers.join(", ")}); see the replication runbook for the lag bound.

## Timeline (scenario: ${failed} fails; times are worst case on ${primary.provider})

| time | phase | what happens |
|---|---|---|
| T+0 | outage | ${failed} stops answering \`${hc.path}\`. |
| ${t(hc.intervalSeconds)} | detection | first failing probe; ${hc.failureThreshold - 1} more needed. |
| ${t(primary.detectionSeconds)} | DNS update | ${primary.provider} marks ${failed} unhealthy and stops answering with it. |
| ${t(primary.rtoSeconds)} | drained | the last cached answer (TTL ${policy.ttlSeconds} s) expires; new connections avoid ${failed}. |
| ${t(primary.rtoSeconds + 300)} | verified | checks below pass for 5 min; declare the failover complete. |

Answers for \`${policy.fqdn}\`:

${answerTable(policy, failed)}

## 1. Detect and confirm (≈2 min)

Alerts fire when a provider marks ${failed} down. Confirm it is the region, not the checkers:

${perProvider((p) => healthCommand(policy, p))}

\`\`\`sh
curl -sk -o /dev/null -w '%{http_code}\\n' https://<${failed} gateway address>:${hc.port}${hc.path}
\`\`\`

## 2. Stop writes to the failed region (≈1 min)

${rep.writers.includes(failed) ? `${failed} is a writer: fence it so no write is acknowledged there (scale its runtime to 0 or revoke its escrow leases) before promoting another writer.` : `${failed} is not a writer (${rep.writers.join(", ")}); no fencing needed.`}

### Promote a standby (≈3 min)

${promotion}

## 3. DNS update and draining (automatic; ${formatSeconds(worst.rtoSeconds)} worst case)

Providers act on their own health checks. To drain at once (flapping, partial failure), per provider:

${perProvider((p) => drainCommand(policy, p, failed))}

Durable drain on every provider at once, in any routing mode (the drained set is part of the one spec; the
command refuses to drain the last undrained region). On \`meridian local\` the same control flips the running
estate at once and is logged in its proof log: \`npm run meridian -- traffic drain ${failed} --dashboard http://127.0.0.1:<port>\`.

\`\`\`sh
${specDrainCommands(policy, failed)}
\`\`\`

## 4. Verify (≈5 min)

\`\`\`sh
for i in $(seq 20); do dig +short ${policy.fqdn} A; done | sort | uniq -c   # ${failed}'s address must be gone
npm run meridian -- runbook regional-outage --stack ${spec.stack}            # re-read the expected answers above
\`\`\`

Error rate and latency in the surviving regions must stay within SLO; their load rises by ${failed}'s share.

## 5. Recovery

1. Fix ${failed}; confirm \`${hc.path}\` answers 2xx from its gateway.
2. Providers return it to rotation after ${hc.failureThreshold} passing probes (${formatSeconds(primary.recoverySeconds)}); a manual drain must be undone by hand (\`--no-inverted\`, \`--endpoint-status Enabled\`, pool \`"enabled": true\`, or \`npm run meridian -- traffic restore ${failed} --stack ${spec.stack}\` + \`pulumi up\`).
3. If it was a writer, let replication catch up before re-admitting writes.
4. Watch for ${formatSeconds(primary.rtoSeconds)} (one detection + TTL) for flapping before closing the incident.
`;
}

export const runbook: Runbook = {
  name: "regional-outage",
  title: "Regional outage: detection, DNS update, draining, verification, recovery",
  render,
};
