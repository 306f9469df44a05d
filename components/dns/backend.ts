/**
 * What each DNS provider file implements: a zone for the apex, the static records of the spec, and the
 * GSLB policy for the service host. ZoneHierarchy calls `zone` and `record` for every provider in the
 * chain, GlobalTrafficPolicy calls `traffic`; each renders the model's numbers in its provider's words.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TrafficPolicy } from "../../model/traffic/policy.js";
import type { ZoneRecord } from "../../model/traffic/records.js";

export interface ZoneHandle {
  /** The provider's zone reference (Route 53 zone id, Cloud DNS zone name, Azure zone name, Cloudflare zone id). */
  zoneRef: pulumi.Output<string>;
  nameServers: pulumi.Output<string[]>;
  /** Azure only: the resource group holding the zone and the Traffic Manager profiles. */
  resourceGroupName?: pulumi.Output<string>;
}

export interface TrafficRender {
  /** Provider resource names of the health checks / monitors created, by region id. */
  checks: Record<string, pulumi.Output<string>[]>;
  /** What clients resolve: the host record, load balancer or profile FQDN. */
  entryPoint: pulumi.Output<string>;
}

/**
 * An AWS region's gateway load balancer as a Route 53 alias target: the NLB's DNS name (the LoadBalancer
 * Service's status) and its region's canonical hosted zone (model/traffic/load-balancers.ts). AWS load
 * balancers publish a name whose addresses may change; Route 53 points at them by alias, never by A record.
 */
export interface LoadBalancerAlias {
  name: pulumi.Output<string>;
  zoneId: string;
}

/** Nameservers a provider assigns to a zone (documented; used where a resource per name is needed before they are known). */
export const NAMESERVER_COUNT: Record<string, number> = { route53: 4, clouddns: 4, trafficmanager: 4, cloudflare: 2 };

/** TTL of the apex NS set every provider publishes (Cloudflare's maximum; the parent's delegation TTL governs switching). */
export const APEX_NS_TTL_SECONDS = 86400;

export interface DnsBackend {
  zone(parent: pulumi.Resource, policy: TrafficPolicy): ZoneHandle;
  /**
   * Publish the hierarchy's full NS set at the apex (every provider's nameservers, in `all`, by provider), so a
   * resolver reaching any provider gets the same NS answer. Absent for the loopback resolver.
   */
  apexNameServers?(parent: pulumi.Resource, zone: ZoneHandle, policy: TrafficPolicy, all: Readonly<Record<string, pulumi.Output<string[]>>>): void;
  record(parent: pulumi.Resource, zone: ZoneHandle, policy: TrafficPolicy, record: ZoneRecord): void;
  /**
   * Sign the zone (policy.dnssec): the provider's keys and signing switch. Returns the DS records the parent
   * needs for this provider's key-signing keys, in presentation form (`<key tag> 13 2 <digest>`). Absent for
   * the loopback resolver (the capability matrix refuses signing there).
   */
  dnssec?(parent: pulumi.Resource, zone: ZoneHandle, policy: TrafficPolicy): pulumi.Output<string[]>;
  traffic(
    parent: pulumi.Resource,
    zone: ZoneHandle,
    policy: TrafficPolicy,
    endpoints: Readonly<Record<string, pulumi.Output<string>>>,
    /** Region id → its AWS load balancer, for the AWS regions (providers that alias use it instead of the IP). */
    aliases?: Readonly<Record<string, LoadBalancerAlias>>,
  ): TrafficRender;
}

/**
 * The static record resources a backend created per zone, by `<fqdn> <type>`: an in-zone alias (Route 53, Azure DNS)
 * names its target record set and must wait for it.
 */
const created = new WeakMap<ZoneHandle, Map<string, pulumi.CustomResource>>();

export function rememberRecord(zone: ZoneHandle, fqdn: string, type: string, resource: pulumi.CustomResource): void {
  const map = created.get(zone) ?? new Map<string, pulumi.CustomResource>();
  map.set(`${fqdn.replace(/\.$/, "")} ${type}`, resource);
  created.set(zone, map);
}

export function recordOf(zone: ZoneHandle, fqdn: string, type: string): pulumi.CustomResource | undefined {
  return created.get(zone)?.get(`${fqdn.replace(/\.$/, "")} ${type}`);
}

/** `us-east-1` style names are fine in Pulumi names; dots are not pleasant, so slug the apex. */
export function slugName(text: string): string {
  return text.replace(/[^a-z0-9-]/gi, "-").toLowerCase();
}

/**
 * Every provider resource is passed through `track` while a ZoneHierarchy is being constructed (a
 * synchronous window), so the hierarchy can expose one output that settles only once all of them are
 * registered — `meridian plan` and tests await stack outputs, not stray registrations.
 */
let collector: pulumi.Resource[] | undefined;

export function track<T extends pulumi.Resource>(resource: T): T {
  collector?.push(resource);
  return resource;
}

export function collecting<T>(build: () => T): { result: T; resources: pulumi.Resource[] } {
  const outer = collector;
  const resources: pulumi.Resource[] = [];
  collector = resources;
  try {
    return { result: build(), resources };
  } finally {
    collector = outer;
  }
}
