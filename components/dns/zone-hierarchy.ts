/**
 * ZoneHierarchy (`meridian:dns:ZoneHierarchy`): the apex zone served by every provider of the hierarchy
 * at once, as octoDNS and DNSControl do — each provider gets a zone, the same static records, the
 * same GSLB policy (one GlobalTrafficPolicy each) and one apex NS set: every provider's nameservers, so a
 * resolver that reaches any of them is told the same hierarchy (multi-provider primaries; see docs/dns.md). The registrar delegates to primary and secondary
 * together (their NS sets combined, in `delegation`); the tertiary and standbys hold the full record set
 * warm, so switching to them is a registrar NS change (see `meridian runbook dns-failover`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { TrafficPolicy } from "../../model/traffic/policy.js";
import type { DnsProvider } from "../../model/config/traffic.js";
import { collecting, type LoadBalancerAlias, type ZoneHandle } from "./backend.js";
import { BACKENDS } from "./backends.js";
import { GlobalTrafficPolicy } from "./global-traffic-policy.js";

export interface ZoneHierarchyArgs {
  policy: TrafficPolicy;
  endpoints: Record<string, pulumi.Output<string>>;
  aliases?: Record<string, LoadBalancerAlias>;
}

export class ZoneHierarchy extends pulumi.ComponentResource {
  public readonly policies: Map<DnsProvider, GlobalTrafficPolicy>;
  /** Provider → its zone's nameservers. */
  public readonly nameServers: Record<string, pulumi.Output<string[]>>;
  /** The NS set to give the registrar: primary's and secondary's nameservers combined. */
  public readonly delegation: pulumi.Output<string[]>;
  /** Signed zones (policy.dnssec): provider → the DS records the parent needs for its key-signing keys; empty when unsigned. */
  public readonly ds: pulumi.Output<Record<string, string[]>>;
  /** Provider resource count; settles once every one of them is registered. */
  public readonly resourceCount: pulumi.Output<number>;

  constructor(name: string, args: ZoneHierarchyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:dns:ZoneHierarchy", name, {}, opts);
    const { policy } = args;
    this.policies = new Map();
    this.nameServers = {};
    const zones = new Map<DnsProvider, ZoneHandle>();
    const ds: Record<string, pulumi.Output<string[]>> = {};
    const { resources } = collecting(() => {
      for (const provider of policy.providers) {
        const backend = BACKENDS[provider];
        const zone = backend.zone(this, policy);
        zones.set(provider, zone);
        // ALIAS records last: Route 53 and Azure DNS alias a record set that must exist first.
        const ordered = [...policy.records.filter((r) => r.type !== "ALIAS"), ...policy.records.filter((r) => r.type === "ALIAS")];
        for (const record of ordered) backend.record(this, zone, policy, record);
        // Every provider signs or none does (the capability matrix refuses a mixed or multi-signer-less hierarchy).
        if (policy.dnssec) ds[provider] = backend.dnssec!(this, zone, policy);
        this.nameServers[provider] = zone.nameServers;
        this.policies.set(
          provider,
          new GlobalTrafficPolicy(`${name}-${provider}`, { provider, policy, zone, endpoints: args.endpoints, ...(args.aliases ? { aliases: args.aliases } : {}) }, { parent: this }),
        );
      }
      // One apex: every cloud provider's zone lists every cloud provider's nameservers.
      const clouds = policy.providers.filter((p) => BACKENDS[p].apexNameServers !== undefined);
      if (clouds.length > 1) {
        const all = Object.fromEntries(clouds.map((p) => [p, this.nameServers[p]!]));
        for (const p of clouds) BACKENDS[p].apexNameServers!(this, zones.get(p)!, policy, all);
      }
    });
    this.resourceCount = pulumi.all(resources.map((r) => r.urn)).apply((urns) => urns.length);
    this.ds = pulumi.output(ds);
    this.delegation = pulumi.all(policy.delegated.map((p) => this.nameServers[p]!)).apply((sets) => [...new Set(sets.flatMap((s) => s ?? []))]);
    this.registerOutputs({ nameServers: this.nameServers, delegation: this.delegation, ds: this.ds, resourceCount: this.resourceCount });
  }
}
