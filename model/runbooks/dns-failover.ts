/**
 * Multi-cloud DNS failover playbook (outline §14.1.2): what happens when the primary DNS provider fails
 * (the delegated secondary answers through resolver retries), how to bring the warm tertiary in by a
 * registrar NS change and how long that takes, and how to verify every provider serves the same records.
 */
import type { EstateSpec } from "../estate.js";
import { CAPABILITIES } from "../traffic/capabilities.js";
import { healthCommand } from "../traffic/commands.js";
import { trafficPolicy } from "../traffic/policy.js";
import { formatSeconds, PARENT_NS_TTL_SECONDS, providerOutageTiming, providerTiming } from "../traffic/timing.js";
import type { Runbook } from "./runbook.js";

const NS_COMMAND: Record<string, string> = {
  route53: "aws route53 get-hosted-zone --id <zone id> --query DelegationSet.NameServers",
  clouddns: "gcloud dns managed-zones describe <zone> --format='value(nameServers)'",
  trafficmanager: "az network dns zone show -g <resource group> -n <apex> --query nameServers",
  cloudflare: "curl -s -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" https://api.cloudflare.com/client/v4/zones?name=<apex> | jq '.result[0].name_servers'",
  local: "echo 127.0.0.1",
};

function render(spec: EstateSpec): string {
  const policy = trafficPolicy(spec);
  const [primary, secondary] = policy.delegated;
  const standbys = policy.providers.slice(policy.delegated.length);
  const outage = providerOutageTiming(policy);
  const names = [policy.fqdn, ...policy.records.map((r) => `${r.fqdn} ${r.type}`)];
  const sync = policy.providers.map(
    (p) =>
      `| ${p} | ${policy.delegated.includes(p) ? "delegated" : "warm standby"} | ${names.length} names (${policy.fqdn} + ${policy.records.length} static) | ${formatSeconds(providerTiming(policy, p).rtoSeconds)} |`,
  );
  const digEach = (name: string, type: string) => policy.providers.map((p) => `dig +norecurse +short @<${p} nameserver> ${name} ${type}`).join("\n");

  const secondaryPart =
    secondary === undefined
      ? `**No secondary is delegated**: an outage of ${primary} makes \`${policy.apex}\` unresolvable once resolvers' cached answers (TTL ${policy.ttlSeconds} s) expire. Add \`providers.secondary\` to the stack — the record set is already rendered for any provider.`
      : `Both ${primary} and ${secondary} are in the registrar's NS set. When ${primary} stops answering, recursive resolvers retry a ${secondary} nameserver after about ${formatSeconds(outage.secondaryTakeoverSeconds!)} per query and remember the faster server: **no change is needed**, and ${secondary}'s own health checks keep routing (${secondary} regional RTO ${formatSeconds(providerTiming(policy, secondary).rtoSeconds)}).`;

  const standbyPart =
    standbys.length === 0
      ? "No warm standby is configured (`providers.tertiary`): if both delegated providers fail, there is nothing to switch to."
      : `${standbys.join(", ")} hold${standbys.length === 1 ? "s" : ""} the full record set, health checks included, but ${standbys.length === 1 ? "is" : "are"} not delegated. To bring ${standbys[0]} in:

1. Confirm it serves the same answers (section "Verify the record sets agree").
2. At the registrar, replace the failed provider's nameservers with ${standbys[0]}'s:

   \`\`\`sh
   ${NS_COMMAND[standbys[0]!]}
   \`\`\`
3. Resolvers pick up the new NS set as the parent's delegation TTL expires: **up to ${formatSeconds(outage.tertiarySwitchSeconds ?? PARENT_NS_TTL_SECONDS)}** (the .com/.net delegation TTL). This is why the secondary is delegated all the time rather than switched in.
4. Record the change in the stack so the next deploy matches the registrar:

   \`\`\`sh
   pulumi config set --path 'meridian:dns.providers.secondary' ${standbys[0]} --stack ${spec.stack}
   pulumi up --stack ${spec.stack}
   \`\`\``;

  return `# DNS provider failover — stack \`${spec.stack}\`

Zone \`${policy.apex}\` is served by ${policy.providers.map((p) => `${p} (${CAPABILITIES[p].title})`).join(", ")}.
Every provider holds the same record set from the one spec (\`meridian:dns\`), so any of them can answer alone.

| provider | role | records | regional-outage RTO |
|---|---|---|---|
${sync.join("\n")}

## Timeline

| time | what happens |
|---|---|
| T+0 | ${primary} stops answering for \`${policy.apex}\`. |
| ${secondary === undefined ? "T+0 … cached TTL" : `T+${formatSeconds(outage.secondaryTakeoverSeconds!)}`} | ${secondary === undefined ? "answers expire from resolver caches; resolution fails." : `resolvers retry ${secondary}; answers continue.`} |
| T+5 min | confirm the provider outage (status page, probes below); decide whether to bring in ${standbys[0] ?? "a standby"}. |
| ${standbys.length > 0 ? `T+${formatSeconds(300 + (outage.tertiarySwitchSeconds ?? 0))}` : "—"} | ${standbys.length > 0 ? `worst case for every resolver to use ${standbys[0]} after a registrar change.` : "no standby to switch to."} |

## 1. Primary outage → secondary

${secondaryPart}

Confirm who answers:

\`\`\`sh
dig NS ${policy.apex} +short
${policy.delegated.map((p) => `dig +norecurse @<${p} nameserver> ${policy.fqdn} A`).join("\n")}
\`\`\`

## 2. Both delegated providers down → tertiary

${standbyPart}

## Verify the record sets agree

Every provider must answer every name identically (weights and health aside):

\`\`\`sh
${digEach(policy.fqdn, "A")}
${policy.records.map((r) => digEach(r.fqdn, r.type)).join("\n")}
\`\`\`

Health as each provider sees it:

${policy.providers.map((p) => `- ${p}: \`${healthCommand(policy, p).split("\n")[0]}\``).join("\n")}

## Recovery

When ${primary} is back, it answers again with the same records (nothing was removed); resolvers drift back on their own.
If the NS set was changed, revert it at the registrar and in the stack (\`pulumi config set --path 'meridian:dns.providers.secondary' ${secondary ?? "<provider>"}\`), then \`pulumi up --stack ${spec.stack}\`.
`;
}

export const runbook: Runbook = {
  name: "dns-failover",
  title: "DNS provider outage: secondary takeover, tertiary switch, record-set agreement",
  render,
};
