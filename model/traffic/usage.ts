/**
 * Traffic usage for the cost model: zones, queries by routing kind, health checks with their optional
 * features, Traffic Manager queries and checks, Cloudflare load balancing — quantities only, counted
 * from the same policy the providers render (so a check the plan creates is a check the bill counts).
 * Queries split evenly over the delegated providers (resolvers spread across the NS set); warm standbys
 * get none until they are delegated. Route 53 charges nothing for a query answered by an alias to an AWS
 * resource, so its queries split by the record that answers them at the host's name (all regions healthy):
 * an alias to an AWS region's gateway NLB is free, an A record or an alias into the zone's own record sets
 * (geo groups, failover chains) is charged at the routing kind's rate.
 */
import type { EstateSpec } from "../estate.js";
import type { UsageItem } from "../usage.js";
import { route53AliasesGateway } from "./load-balancers.js";
import { trafficPolicy, type TrafficPolicy } from "./policy.js";

/**
 * The share of the host's Route 53 queries answered, with every region healthy, by an alias to a region's
 * gateway load balancer — as components/dns/route53.ts renders the records at the host's own name:
 * weighted and latency modes put one record per region there (a weighted record answers its weight's share;
 * a latency record the clients nearest its region, taken as the region's share of the latest month of
 * demand); failover puts the first region's PRIMARY record there, answering every query while it serves;
 * geo puts geolocation aliases into the zone's own continent sets there, which are charged.
 */
function route53AliasQueryShare(spec: EstateSpec, policy: TrafficPolicy = trafficPolicy(spec)): number {
  const aliased = (id: string) => route53AliasesGateway(policy.targets.find((t) => t.id === id)!);
  const share = (weight: (id: string) => number) => {
    const total = policy.targets.reduce((s, t) => s + weight(t.id), 0);
    return total > 0 ? policy.targets.filter((t) => aliased(t.id)).reduce((s, t) => s + weight(t.id), 0) / total : 0;
  };
  switch (policy.mode) {
    case "weighted":
      return share((id) => policy.targets.find((t) => t.id === id)!.weights.healthy);
    case "latency":
      return share((id) => spec.regions.find((r) => r.id === id)!.demand.history.at(-1)!);
    case "failover":
      return policy.targets.length > 0 && aliased(policy.targets[0]!.id) ? 1 : 0;
    case "geo":
    case "anycast":
      return 0;
  }
}

/** Route 53 health checks the policy needs: one per region and signal, plus CALCULATED parents. */
function route53CheckCounts(policy: TrafficPolicy): { endpointChecks: number; calculatedChecks: number } {
  const perRegion = policy.signals.length;
  return {
    endpointChecks: policy.targets.length * perRegion,
    // Two parents per region (serving, full) only when there is more than one signal to combine.
    calculatedChecks: perRegion > 1 ? policy.targets.length * 2 : 0,
  };
}

/** Route 53's optional health-check features this spec turns on (each billed per check). */
function route53OptionalFeatures(policy: TrafficPolicy): string[] {
  const features: string[] = [];
  if (policy.healthCheck.protocol === "HTTPS") features.push("HTTPS");
  if (policy.healthCheck.intervalSeconds < 30) features.push("fast interval");
  return features;
}

export function trafficUsage(spec: EstateSpec): UsageItem[] {
  const policy = trafficPolicy(spec);
  const queriesPerDelegated = spec.dns.monthlyQueriesMillions / policy.delegated.length;
  const items: UsageItem[] = [];
  const add = (item: Omit<UsageItem, "usageBased"> & { usageBased?: boolean }) => {
    items.push({ usageBased: false, ...item });
  };
  for (const provider of policy.providers) {
    const queries = policy.delegated.includes(provider) ? queriesPerDelegated : 0;
    switch (provider) {
      case "route53": {
        add({ resource: `route53:zone-${spec.dns.apex}`, resourceType: "aws:route53/zone:Zone", component: "Hosted zone", sku: "route53.hostedZone", monthlyQuantity: 1, unit: "zones" });
        const sku = policy.mode === "latency" ? "route53.queries.latency" : policy.mode === "geo" ? "route53.queries.geo" : "route53.queries.standard";
        const aliasShare = route53AliasQueryShare(spec, policy);
        add({
          resource: `route53:${policy.fqdn}`,
          resourceType: "aws:route53/record:Record",
          component: `DNS queries (${policy.mode})`,
          sku,
          monthlyQuantity: queries * (1 - aliasShare),
          unit: "1M queries",
          usageBased: true,
        });
        if (aliasShare > 0) {
          add({
            resource: `route53:${policy.fqdn}`,
            resourceType: "aws:route53/record:Record",
            component: "DNS queries answered by load-balancer aliases (free)",
            sku: "route53.queries.aliasToAws",
            monthlyQuantity: queries * aliasShare,
            unit: "1M queries",
            usageBased: true,
          });
        }
        const features = route53OptionalFeatures(policy);
        for (const target of policy.targets) {
          const onAws = target.cloud === "aws";
          const resourceType = "aws:route53/healthCheck:HealthCheck";
          const checks = policy.signals.length;
          add({
            resource: `route53:hc-${target.id}`,
            resourceType,
            component: `Health checks (${onAws ? "AWS" : "non-AWS"} endpoint)`,
            sku: onAws ? "route53.healthCheck.aws" : "route53.healthCheck.nonAws",
            monthlyQuantity: checks,
            unit: "checks",
          });
          if (features.length > 0) {
            add({
              resource: `route53:hc-${target.id}`,
              resourceType,
              component: `Optional features (${features.join(", ")})`,
              sku: onAws ? "route53.healthCheck.optionalFeature.aws" : "route53.healthCheck.optionalFeature.nonAws",
              monthlyQuantity: checks * features.length,
              unit: "feature-checks",
            });
          }
        }
        const { calculatedChecks } = route53CheckCounts(policy);
        if (calculatedChecks > 0) {
          // CALCULATED checks probe nothing; AWS bills them as basic checks of an AWS endpoint.
          add({
            resource: "route53:hc-calculated",
            resourceType: "aws:route53/healthCheck:HealthCheck",
            component: "Calculated health checks",
            sku: "route53.healthCheck.aws",
            monthlyQuantity: calculatedChecks,
            unit: "checks",
          });
        }
        break;
      }
      case "clouddns":
        add({ resource: `clouddns:zone-${spec.dns.apex}`, resourceType: "gcp:dns/managedZone:ManagedZone", component: "Managed zone", sku: "clouddns.zone", monthlyQuantity: 1, unit: "zones" });
        add({
          resource: `clouddns:${policy.fqdn}`,
          resourceType: "gcp:dns/recordSet:RecordSet",
          component: "Routing-policy queries",
          sku: "clouddns.queries.routingPolicy",
          monthlyQuantity: queries,
          unit: "1M queries",
          usageBased: true,
        });
        add({
          resource: "clouddns:hc-gslb",
          resourceType: "gcp:compute/healthCheck:HealthCheck",
          component: "Health-checked external endpoints",
          sku: "clouddns.healthCheck",
          monthlyQuantity: policy.targets.length,
          unit: "endpoints",
        });
        break;
      case "trafficmanager": {
        add({ resource: `azuredns:zone-${spec.dns.apex}`, resourceType: "azure-native:dns:Zone", component: "DNS zone", sku: "azuredns.zone", monthlyQuantity: 1, unit: "zones" });
        add({
          resource: `azuredns:zone-${spec.dns.apex}`,
          resourceType: "azure-native:dns:Zone",
          component: "DNS queries",
          sku: "azuredns.queries",
          monthlyQuantity: queries,
          unit: "1M queries",
          usageBased: true,
        });
        add({
          resource: `trafficmanager:${policy.fqdn}`,
          resourceType: "azure-native:trafficmanager:Profile",
          component: "Traffic Manager queries",
          sku: "trafficmanager.queries",
          monthlyQuantity: queries,
          unit: "1M queries",
          usageBased: true,
        });
        const fast = policy.healthCheck.intervalSeconds < 30;
        for (const kind of ["azure", "external"] as const) {
          // Several signals: one probed external endpoint per region and signal (nested per-signal profiles).
          const n = policy.targets.filter((t) => (t.cloud === "azure") === (kind === "azure")).length * policy.signals.length;
          if (n === 0) continue;
          const resourceType = "azure-native:trafficmanager:Endpoint";
          add({
            resource: `trafficmanager:endpoints-${kind}`,
            resourceType,
            component: `Health checks (${kind} endpoints)`,
            sku: `trafficmanager.healthCheck.${kind}`,
            monthlyQuantity: n,
            unit: "endpoints",
          });
          if (fast)
            add({
              resource: `trafficmanager:endpoints-${kind}`,
              resourceType,
              component: "Fast interval probing",
              sku: `trafficmanager.healthCheck.fastInterval.${kind}`,
              monthlyQuantity: n,
              unit: "endpoints",
            });
        }
        break;
      }
      case "cloudflare":
        add({
          resource: `cloudflare:zone-${spec.dns.apex}`,
          resourceType: "cloudflare:index/zone:Zone",
          component: "DNS queries",
          sku: "cloudflare.dns.queries",
          monthlyQuantity: queries,
          unit: "1M queries",
          usageBased: true,
        });
        add({
          resource: `cloudflare:lb-${policy.fqdn}`,
          resourceType: "cloudflare:index/loadBalancer:LoadBalancer",
          component: "Load balancer",
          sku: "cloudflare.loadBalancer.base",
          monthlyQuantity: 1,
          unit: "load balancers",
        });
        add({
          resource: `cloudflare:lb-${policy.fqdn}`,
          resourceType: "cloudflare:index/loadBalancer:LoadBalancer",
          component: "Load-balanced queries",
          sku: "cloudflare.loadBalancer.queries",
          monthlyQuantity: queries,
          unit: "1M queries",
          usageBased: true,
        });
        break;
      case "local":
        break;
    }
  }
  return items;
}
