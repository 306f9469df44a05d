/**
 * One DNS query's answer, decided the way the providers decide it: `answerSet` says which regions may
 * answer (and at which weight, degraded factor included); then one of them is drawn for this query with
 * probability weight / Σ weights — Route 53 weighted records, Cloud DNS WRR, Traffic Manager Weighted and
 * a Cloudflare pool all hand a client one address per query, never the whole set in a fixed order.
 *
 * Who is asking decides geo and latency answers: the EDNS Client Subnet a recursive resolver sent on the
 * client's behalf (RFC 7871) when there is one, else the query's source address, looked up in a table of
 * client networks (a provider's GeoIP database; the local lab's is `labClientNetworks`). A client found in
 * no network gets the provider's default: every region (geo) or the first serving one (latency).
 */
import type { Continent } from "../config/vocabulary.js";
import { continents } from "../config/vocabulary.js";
import { answerSet, type ClientHint, type RegionHealth } from "./answer.js";
import type { LatLon } from "./geo.js";
import type { TrafficPolicy } from "./policy.js";
import { drawWeighted } from "../random.js";

export interface ClientNetwork {
  /** IPv4 prefix, "a.b.c.d/len". */
  prefix: string;
  /** What the network is (logged with each query it matches). */
  label: string;
  continent?: Continent;
  location?: LatLon;
}

export interface QueryClient {
  address: string;
  subnet?: { address: string; prefixLength: number };
}

export interface Resolution {
  /** The region drawn for this query (undefined when the answer set is empty). */
  regionId?: string;
  address?: string;
  /** Where the client was placed, and from what: its ECS subnet, its source address, or nothing known. */
  clientFrom: "ecs" | "address" | "unknown";
  clientNetwork?: string;
  continent?: Continent;
  /** The candidates and their weights this query was drawn from (the model's answer set). */
  candidates: { regionId: string; weight: number }[];
  failOpen: boolean;
}

/** An IPv4 address as an unsigned 32-bit number, or undefined when it is not one. */
function ipv4(address: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address.replace(/^::ffff:/i, ""));
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function inPrefix(address: string, prefix: string): boolean {
  const [base, lenText] = prefix.split("/");
  const a = ipv4(address);
  const b = ipv4(base ?? "");
  const len = Number(lenText ?? 32);
  if (a === undefined || b === undefined || !Number.isInteger(len) || len < 0 || len > 32) return false;
  const size = 2 ** (32 - len);
  return Math.floor(a / size) === Math.floor(b / size);
}

/**
 * The lab's geography: there is no GeoIP for loopback, so `meridian local` defines one. Each continent
 * owns a /16 of the shared address space 100.64.0.0/10 (RFC 6598) in the schema's continent order —
 * `dig +subnet=100.66.0.0/24` asks as a client in Europe — and a query sent from a region's own public
 * address (`dig -b 127.0.1.2`) comes from that region's location.
 */
export function labClientNetworks(policy: TrafficPolicy, endpoints: Readonly<Record<string, string>>): ClientNetwork[] {
  const own = policy.targets.flatMap((t) => {
    const address = endpoints[t.id];
    return address === undefined ? [] : [{ prefix: `${address}/32`, label: `region ${t.id}`, continent: t.continent, location: t.location }];
  });
  const byContinent = continents.map((continent, i) => ({ prefix: `100.${64 + i}.0.0/16`, label: `lab clients, ${continent}`, continent }));
  return [...own, ...byContinent];
}

/** Where a client is, from its ECS subnet (preferred: it is the real client's) or its source address. */
export function locateClient(client: QueryClient, networks: readonly ClientNetwork[]): { hint: ClientHint; from: Resolution["clientFrom"]; network?: ClientNetwork } {
  const from = client.subnet !== undefined ? ("ecs" as const) : ("address" as const);
  const address = client.subnet?.address ?? client.address;
  // Most specific prefix first, as routing (and GeoIP) lookups do.
  const network = [...networks].sort((a, b) => Number(b.prefix.split("/")[1]) - Number(a.prefix.split("/")[1])).find((n) => inPrefix(address, n.prefix));
  if (!network) return { hint: {}, from: "unknown" };
  return { hint: { continent: network.continent, location: network.location }, from, network };
}

/** The answer to one query: the model's answer set for this client and health, then one region drawn from it. */
export function resolveQuery(
  policy: TrafficPolicy,
  health: RegionHealth,
  endpoints: Readonly<Record<string, string>>,
  client: QueryClient,
  networks: readonly ClientNetwork[],
  random: () => number,
): Resolution {
  const located = locateClient(client, networks);
  const set = answerSet(policy, health, located.hint);
  const pick = drawWeighted(set.answers, random);
  const address = pick ? endpoints[pick.regionId] : undefined;
  if (pick && address === undefined) throw new Error(`no endpoint for region ${pick.regionId}`);
  return {
    regionId: pick?.regionId,
    address,
    clientFrom: located.from,
    clientNetwork: located.network?.label,
    continent: located.hint.continent,
    candidates: set.answers.map((a) => ({ regionId: a.regionId, weight: a.weight })),
    failOpen: set.failOpen,
  };
}
