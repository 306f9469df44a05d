/**
 * The exact operator commands for each provider — inspect health, drain a region, query a provider's
 * nameservers — spelled with this stack's names (zone, profile and pool names as the components create
 * them). Runbooks print these; keeping them here keeps the names in one place beside the model.
 */
import type { DnsProvider } from "../config/traffic.js";
import type { TrafficPolicy } from "./policy.js";

const slug = (text: string) => text.replace(/[^a-z0-9-]/gi, "-").toLowerCase();

/** Names the components give provider objects (mirrors components/dns/*). */
function providerNames(policy: TrafficPolicy) {
  return {
    cloudDnsZone: slug(`meridian-${policy.stack}-${policy.apex}`).slice(0, 63),
    cloudDnsHealthCheck: slug(`meridian-${policy.stack}-gslb`),
    azureResourceGroup: `meridian-${policy.stack}-traffic`,
    trafficManagerProfile: slug(`${policy.apex}-gslb`).slice(0, 63),
    cloudflarePool: (regionId: string) => `${policy.stack}-${regionId}`,
  };
}

/** How to see which regions a provider currently considers healthy. */
export function healthCommand(policy: TrafficPolicy, provider: DnsProvider): string {
  const n = providerNames(policy);
  switch (provider) {
    case "route53":
      return `aws route53 list-health-checks --query "HealthChecks[?HealthCheckConfig.Type!='CALCULATED'].[Id,HealthCheckConfig.IPAddress,HealthCheckConfig.ResourcePath]" --output table\naws route53 get-health-check-status --health-check-id <id>`;
    case "clouddns":
      return `gcloud compute health-checks describe ${n.cloudDnsHealthCheck} --global\ngcloud dns record-sets describe ${policy.fqdn}. --type=A --zone=${n.cloudDnsZone}`;
    case "trafficmanager":
      return `az network traffic-manager endpoint list --resource-group ${n.azureResourceGroup} --profile-name ${n.trafficManagerProfile} --query "[].{name:name,status:endpointMonitorStatus}" -o table`;
    case "cloudflare":
      return `curl -s -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" https://api.cloudflare.com/client/v4/accounts/${policy.cloudflareAccountId ?? "<account-id>"}/load_balancers/pools | jq '.result[] | {name, healthy}'`;
    case "local":
      return `npm run meridian -- local --stack ${policy.stack}   # prints each region's health as the resolver sees it`;
  }
}

/** How to take one region out of rotation by hand, at once, on a provider. */
export function drainCommand(policy: TrafficPolicy, provider: DnsProvider, regionId: string): string {
  const n = providerNames(policy);
  switch (provider) {
    case "route53":
      return `aws route53 update-health-check --health-check-id <${regionId} serving check id> --inverted   # forces the region unhealthy`;
    case "clouddns":
      return `# Cloud DNS has no per-target switch: drain through the spec (below) or remove the target:\ngcloud dns record-sets describe ${policy.fqdn}. --type=A --zone=${n.cloudDnsZone}`;
    case "trafficmanager":
      return `az network traffic-manager endpoint update --resource-group ${n.azureResourceGroup} --profile-name ${n.trafficManagerProfile} --type ExternalEndpoints --name ${regionId} --endpoint-status Disabled`;
    case "cloudflare":
      return `curl -s -X PATCH -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" -H "Content-Type: application/json" --data '{"enabled":false}' https://api.cloudflare.com/client/v4/accounts/${policy.cloudflareAccountId ?? "<account-id>"}/load_balancers/pools/<id of ${n.cloudflarePool(regionId)}>`;
    case "local":
      return `# stop the region's process in \`meridian local\`; the resolver drops it after the detection time`;
  }
}

/**
 * The durable drain: the operator's routing control (`meridian traffic drain`, refused for the last
 * undrained region) in the stack config, applied to every provider at once in every routing mode.
 */
export function specDrainCommands(policy: TrafficPolicy, regionId: string): string {
  return [
    `npm run meridian -- traffic drain ${regionId} --stack ${policy.stack}   # meridian:dns.drained`,
    `npm run meridian -- plan --stack ${policy.stack}   # review: no provider answers with ${regionId}`,
    `pulumi up --stack ${policy.stack}`,
  ].join("\n");
}
