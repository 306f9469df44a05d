/**
 * Site-to-site VPNs between clouds: the private path a logical-replication subscriber (and the Job that
 * creates it) takes to its feeder on another cloud, whose database has a private address only. One model
 * computes which region pairs need a path and every number each tunnel needs — its inside /30, which end's
 * BGP address is which, the ASNs — and components/network and the load-time checks read it.
 *
 * Layouts follow each pair's documented high-availability setup:
 * - AWS ↔ GCP: two AWS VPN connections (one per HA VPN interface), four tunnels; GCP's external gateway has
 *   FOUR_IPS_REDUNDANCY (Google's "HA VPN to AWS" guide).
 * - AWS ↔ Azure: two AWS VPN connections (one per active-active Azure gateway instance), four tunnels, one
 *   Azure local network gateway per AWS tunnel; inside ranges in Azure's APIPA range.
 * - GCP ↔ Azure: two tunnels (HA VPN interface i ↔ Azure instance i), TWO_IPS_REDUNDANCY.
 */
import { feeders } from "../cost/topology.js";
import { replicationInput } from "../cost/report.js";
import { regionById, type EstateSpec, type Region } from "../estate.js";
import type { Cloud } from "../config/vocabulary.js";
import { StackConfigError } from "../config/errors.js";

export type PairKind = "aws-gcp" | "aws-azure" | "gcp-azure";

export interface VpnTunnel {
  index: number;
  /** AWS pairs: the AWS VPN connection (0 or 1) and its tunnel (1 or 2). */
  aws?: { connection: 0 | 1; tunnel: 1 | 2 };
  /** The HA VPN interface (0 or 1) on the GCP end. */
  gcpInterface?: 0 | 1;
  /** The active-active gateway instance (0 or 1) on the Azure end. */
  azureInstance?: 0 | 1;
  /** The tunnel's inside range, a link-local /30. */
  insideCidr: string;
  /** BGP address of the pair's first cloud (`a`: aws before gcp before azure) — the /30's first host. */
  aAddress: string;
  /** BGP address of the second cloud (`b`) — the /30's second host. */
  bAddress: string;
}

export interface VpnPair {
  /** `<a>--<b>`: stable, used in resource names. */
  id: string;
  kind: PairKind;
  a: Region;
  b: Region;
  tunnels: VpnTunnel[];
  /** The writers whose partitions flow over this pair. */
  carries: string[];
}

export interface VpnAsns {
  aws: number;
  gcp: number;
  azure: number;
}

export interface VpnPlan {
  pairs: VpnPair[];
  asn: VpnAsns;
}

/**
 * Azure's APIPA range for custom BGP addresses (169.254.21.0 – 169.254.22.255); every pair with an Azure end
 * takes its /30s from here. Other pairs use 169.254.100.0/22, clear of the /30s AWS reserves.
 */
export const AZURE_APIPA = { first: ipToInt("169.254.21.0"), last: ipToInt("169.254.22.255") };
const OTHER_POOL = { first: ipToInt("169.254.100.0"), last: ipToInt("169.254.103.255") };
/** The inside /30s AWS refuses (its VPN tunnel options). */
export const AWS_RESERVED_INSIDE_CIDRS = ["169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30", "169.254.5.0/30", "169.254.169.252/30"];
/** ASNs Azure keeps for itself: a peer of an Azure VPN gateway may not use them. */
const AZURE_RESERVED_ASNS = [8074, 8075, 12076, 65515, 65517, 65518, 65519, 65520];
/** Site-to-site tunnels each zone-redundant Azure VPN gateway SKU carries at most. */
const AZURE_SKU_MAX_TUNNELS: Record<string, number> = { VpnGw1AZ: 30, VpnGw2AZ: 30, VpnGw3AZ: 30, VpnGw4AZ: 100, VpnGw5AZ: 100 };

const CLOUD_ORDER: Cloud[] = ["aws", "gcp", "azure"];
const TUNNELS: Record<PairKind, number> = { "aws-gcp": 4, "aws-azure": 4, "gcp-azure": 2 };

class VpnPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VpnPlanError";
  }
}

/** The region pairs the replication topology links across clouds, each with the writers it carries. */
export function crossCloudLinks(spec: EstateSpec): { a: Region; b: Region; carries: string[] }[] {
  const links = new Map<string, { a: Region; b: Region; carries: Set<string> }>();
  for (const [writer, holders] of feeders(replicationInput(spec), spec.replication.topology)) {
    for (const [to, from] of holders) {
      if (from === null) continue;
      const [x, y] = [regionById(spec, from), regionById(spec, to)];
      if (x.cloud === y.cloud) continue;
      const [a, b] = CLOUD_ORDER.indexOf(x.cloud) < CLOUD_ORDER.indexOf(y.cloud) ? [x, y] : [y, x];
      const id = `${a.id}--${b.id}`;
      const link = links.get(id) ?? { a, b, carries: new Set<string>() };
      link.carries.add(writer);
      links.set(id, link);
    }
  }
  return [...links.entries()].sort(([p], [q]) => p.localeCompare(q)).map(([, l]) => ({ a: l.a, b: l.b, carries: [...l.carries].sort() }));
}

/** Every VPN the estate needs, with each tunnel's addresses. Throws VpnPlanError when the address pools run out. */
export function vpnPlan(spec: EstateSpec): VpnPlan {
  // `local` clusters share one machine's network: there is no cloud boundary to cross.
  if (spec.environment === "local") return { pairs: [], asn: spec.replication.network.vpn.asn };
  const pools = { azure: { ...AZURE_APIPA, next: AZURE_APIPA.first }, other: { ...OTHER_POOL, next: OTHER_POOL.first } };
  const pairs = crossCloudLinks(spec).map(({ a, b, carries }) => {
    const kind = `${a.cloud}-${b.cloud}` as PairKind;
    const pool = b.cloud === "azure" ? pools.azure : pools.other;
    const tunnels = Array.from({ length: TUNNELS[kind] }, (_, index): VpnTunnel => {
      if (pool.next + 3 > pool.last)
        throw new VpnPlanError(
          `no free inside /30 left for ${a.id}--${b.id} tunnel ${index}: the ${b.cloud === "azure" ? "Azure APIPA range (169.254.21.0–169.254.22.255)" : "169.254.100.0/22 pool"} holds ${(pool.last - pool.first + 1) / 4} tunnels`,
        );
      const net = pool.next;
      pool.next += 4;
      const half = (index >> 1) as 0 | 1;
      const layout: Partial<VpnTunnel> =
        kind === "gcp-azure"
          ? { gcpInterface: index as 0 | 1, azureInstance: index as 0 | 1 }
          : { aws: { connection: half, tunnel: ((index & 1) + 1) as 1 | 2 }, ...(kind === "aws-gcp" ? { gcpInterface: half } : { azureInstance: half }) };
      return { index, ...layout, insideCidr: `${intToIp(net)}/30`, aAddress: intToIp(net + 1), bAddress: intToIp(net + 2) };
    });
    return { id: `${a.id}--${b.id}`, kind, a, b, tunnels, carries };
  });
  return { pairs, asn: spec.replication.network.vpn.asn };
}

/** What the stack must say before its VPNs can be built: one line per problem, naming the key and why. */
export function vpnProblems(spec: EstateSpec): { keyPath: string; value: string; expected: string }[] {
  const out: { keyPath: string; value: string; expected: string }[] = [];
  const vpn = spec.replication.network.vpn;
  let plan: VpnPlan;
  try {
    plan = vpnPlan(spec);
  } catch (err) {
    // A relay outside its continent is the replication config's own problem, reported where it is checked.
    if (err instanceof StackConfigError) return out;
    if (!(err instanceof VpnPlanError)) throw err;
    return [{ keyPath: "meridian:replication", value: "(topology)", expected: err.message }];
  }
  if (plan.pairs.length === 0) return out;
  const awsRegions = new Set(plan.pairs.flatMap((p) => [p.a, p.b]).filter((r) => r.cloud === "aws"));
  for (const r of awsRegions) {
    if (vpn.aws[r.id] === undefined) {
      const peers = plan.pairs.filter((p) => p.a.id === r.id || p.b.id === r.id).map((p) => (p.a.id === r.id ? p.b.id : p.a.id));
      out.push({
        keyPath: `meridian:replication.network.vpn.aws.${r.id}`,
        value: "(missing)",
        expected: `{vpcId, routeTableIds}: ${r.id} replicates with ${peers.join(", ")} over a site-to-site VPN, which attaches to this VPC`,
      });
    }
  }
  const { aws, gcp, azure } = vpn.asn;
  if (new Set([aws, gcp, azure]).size < 3)
    out.push({ keyPath: "meridian:replication.network.vpn.asn", value: JSON.stringify(vpn.asn), expected: "three different ASNs: every VPN is an eBGP session between two clouds" });
  if (plan.pairs.some((p) => p.b.cloud === "azure")) {
    for (const [cloud, asn] of [
      ["aws", aws],
      ["gcp", gcp],
    ] as const) {
      if (AZURE_RESERVED_ASNS.includes(asn))
        out.push({
          keyPath: `meridian:replication.network.vpn.asn.${cloud}`,
          value: String(asn),
          expected: `an ASN Azure does not reserve (${AZURE_RESERVED_ASNS.join(", ")}): ${cloud} peers with an Azure VPN gateway`,
        });
    }
  }
  const limit = AZURE_SKU_MAX_TUNNELS[vpn.azure.sku]!;
  for (const [region, tunnels] of tunnelsPerAzureGateway(plan)) {
    if (tunnels > limit)
      out.push({
        keyPath: "meridian:replication.network.vpn.azure.sku",
        value: vpn.azure.sku,
        expected: `a SKU carrying ${tunnels} site-to-site tunnels (${region} has ${tunnels}; ${vpn.azure.sku} carries ${limit})`,
      });
  }
  return out;
}

/** Site-to-site connections on each Azure region's gateway (one per tunnel). */
function tunnelsPerAzureGateway(plan: VpnPlan): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of plan.pairs) if (p.b.cloud === "azure") out.set(p.b.id, (out.get(p.b.id) ?? 0) + p.tunnels.length);
  return out;
}

/** Regions with a VPN endpoint, by cloud, in plan order. */
export function vpnRegions(plan: VpnPlan, cloud: Cloud): Region[] {
  const seen = new Map<string, Region>();
  for (const p of plan.pairs) for (const r of [p.a, p.b]) if (r.cloud === cloud) seen.set(r.id, r);
  return [...seen.values()];
}

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}
