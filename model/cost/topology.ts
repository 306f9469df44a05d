/**
 * Replication topologies (outline §14.3): which region sends each writer's changes to which, as flows
 * aggregated into directed links. Every region receives every writer's data exactly once, except in
 * `regional`, where data stays on its writer's continent (residency; remote reads are not replication).
 *
 * - full-mesh: each writer sends to every other region.
 * - star: writers send to the hub (the first writer); the hub fans every write out to the rest.
 * - regional: each writer sends to the other regions of its own continent only.
 * - hierarchical: tier-1 writers send to their own continent's regions and to one relay per other
 *   continent (configured, else that continent's first writer, else its first region); relays fan out to their
 *   continent's tier-2 secondaries. Each write crosses each continent boundary once — unless a relay holds it as
 *   a same-cloud read-only replica and the next hop leaves that cloud (see `topologyFlows`).
 */
import type { Continent } from "../config/vocabulary.js";
import type { Topology } from "../config/replication.js";

export interface TopologyRegion {
  id: string;
  continent: Continent;
  /** Its cloud, when known: a copy fed by its own cloud is a read-only managed replica (see `feeders`). */
  cloud?: string;
}

export interface TopologyInput {
  regions: TopologyRegion[];
  writers: string[];
  writeGBPerMonth: Record<string, number>;
  /** Chosen relay per continent (hierarchical); others default to the continent's first writer or region. */
  relays?: Partial<Record<Continent, string>>;
}

/** One writer's data moving over one hop. */
export interface Flow {
  writer: string;
  from: string;
  to: string;
  gb: number;
}

export interface Link {
  from: string;
  to: string;
  /** GB per month over this link, all writers together. */
  gb: number;
  /** Per-writer share, in writer order. */
  carries: { writer: string; gb: number }[];
}

/**
 * Every writer's flows. They follow the topology's route, except that when regions carry their cloud a hop
 * across clouds never starts at a same-cloud replica: such a copy is read-only (Aurora global secondary, Cloud
 * SQL or Azure read replica) and cannot publish (CREATE PUBLICATION, slots, role changes), so the bytes leave
 * the writable copy that replica descends from — and are priced from there.
 */
export function topologyFlows(input: TopologyInput, topology: Topology): Flow[] {
  return fromWritableCopies(input, routeFlows(input, topology));
}

function routeFlows(input: TopologyInput, topology: Topology): Flow[] {
  const { regions, writers } = input;
  const gbOf = (w: string) => input.writeGBPerMonth[w] ?? 0;
  const continentOf = new Map(regions.map((r) => [r.id, r.continent]));
  const flows: Flow[] = [];
  const send = (writer: string, from: string, to: string) => {
    if (from !== to) flows.push({ writer, from, to, gb: gbOf(writer) });
  };
  const hub = writers[0]!;
  for (const w of writers) {
    const home = continentOf.get(w);
    switch (topology) {
      case "full-mesh":
        for (const r of regions) send(w, w, r.id);
        break;
      case "star":
        send(w, w, hub);
        for (const r of regions) if (r.id !== w && r.id !== hub) send(w, hub, r.id);
        break;
      case "regional":
        for (const r of regions) if (r.continent === home) send(w, w, r.id);
        break;
      case "hierarchical": {
        for (const r of regions) if (r.continent === home) send(w, w, r.id);
        for (const continent of continentsOf(regions)) {
          if (continent === home) continue;
          const relay = relayOf(input, continent);
          send(w, w, relay);
          for (const r of regions) if (r.continent === continent && r.id !== relay) send(w, relay, r.id);
        }
        break;
      }
    }
  }
  return flows;
}

/** Flows summed per directed link, ordered by (from, to) so tier walks are deterministic. */
export function replicationLinks(input: TopologyInput, topology: Topology): Link[] {
  const links = new Map<string, Link>();
  for (const f of topologyFlows(input, topology)) {
    const key = `${f.from}\u0000${f.to}`;
    const link = links.get(key) ?? { from: f.from, to: f.to, gb: 0, carries: [] };
    link.gb += f.gb;
    const share = link.carries.find((c) => c.writer === f.writer);
    if (share) share.gb += f.gb;
    else link.carries.push({ writer: f.writer, gb: f.gb });
    links.set(key, link);
  }
  return [...links.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** A continent's relay: the configured one, else its first tier-1 writer, else its first region. */
export function relayOf(input: TopologyInput, continent: Continent): string {
  const byId = new Map(input.regions.map((r) => [r.id, r]));
  const chosen = input.relays?.[continent];
  if (chosen !== undefined) {
    if (byId.get(chosen)?.continent !== continent) throw new Error(`relay ${chosen} for ${continent} is not a region on ${continent}`);
    return chosen;
  }
  const writer = input.writers.find((w) => byId.get(w)?.continent === continent);
  const relay = writer ?? input.regions.find((r) => r.continent === continent)?.id;
  if (relay === undefined) throw new Error(`no region on ${continent}`);
  return relay;
}

function continentsOf(regions: TopologyRegion[]): Continent[] {
  return [...new Set(regions.map((r) => r.continent))];
}

function fromWritableCopies(input: TopologyInput, flows: Flow[]): Flow[] {
  const cloud = new Map(input.regions.map((r) => [r.id, r.cloud]));
  const sameCloud = (a: string, b: string) => cloud.get(a) !== undefined && cloud.get(a) === cloud.get(b);
  const routeFeeder = new Map<string, string>(flows.map((f) => [`${f.writer}\u0000${f.to}`, f.from]));
  const writable = (writer: string, id: string): string => {
    const from = routeFeeder.get(`${writer}\u0000${id}`);
    return from !== undefined && sameCloud(from, id) ? writable(writer, from) : id;
  };
  return flows.map((f) => (sameCloud(f.from, f.to) ? f : { ...f, from: writable(f.writer, f.from) }));
}

/**
 * For each writer and region holding its data, the region it receives from (its feeder), or null for the
 * writer itself: the flows' sources, so components build replicas and subscriptions from the same hops the
 * cost report prices. Regions absent from a writer's map do not hold that writer's data (the `regional` topology).
 */
export function feeders(input: TopologyInput, topology: Topology): Map<string, Map<string, string | null>> {
  const out = new Map<string, Map<string, string | null>>(input.writers.map((w) => [w, new Map([[w, null]])]));
  for (const f of topologyFlows(input, topology)) out.get(f.writer)!.set(f.to, f.from);
  return out;
}
