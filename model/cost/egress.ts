/**
 * Egress pricing of replication links. Same-cloud links pay the cloud's inter-region rate (AWS by
 * source region, GCP/Azure by continent pair). Cross-cloud links leave over the internet and pay the
 * source's internet egress tiers: each source region is one meter whose tiers its links walk in
 * (from, to) order, after the cloud account's free allowance is spent, in the same order. Components are
 * rounded to cents, and a link's cost is the sum of its components.
 */
import type { Cloud } from "../../stacks/schema/common.js";
import type { Topology } from "../../stacks/schema/replication.js";
import { freeInternetEgressGB, interRegionPrice, internetEgressTiers, type RegionRef } from "../prices/egress.js";
import { price, type Price } from "../prices/price.js";
import { toCents } from "./money.js";
import { walkTiers } from "./tiers.js";
import { replicationLinks, type Link, type TopologyInput, type TopologyRegion } from "./topology.js";

export type EgressRegion = TopologyRegion & RegionRef;

export interface CostComponent {
  name: string;
  unit: string;
  monthlyQuantity: number;
  price: Price;
  monthlyCents: number;
  usageBased: boolean;
}

export interface PricedLink extends Link {
  kind: "inter-region" | "internet";
  components: CostComponent[];
  monthlyCents: number;
}

export function priceLinks(links: Link[], regions: EgressRegion[]): PricedLink[] {
  const byId = new Map(regions.map((r) => [r.id, r]));
  const get = (id: string) => {
    const r = byId.get(id);
    if (!r) throw new Error(`link names unknown region ${id}`);
    return r;
  };
  const metered = new Map<string, number>(); // source region id -> GB already billed on its tiers
  const freeLeft = new Map<Cloud, number>(Object.entries(freeInternetEgressGB).map(([c, f]) => [c as Cloud, f.gb]));
  const ordered = [...links].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));

  return ordered.map((link) => {
    const src = get(link.from);
    const dst = get(link.to);
    const route = `${src.region} → ${dst.region}`;
    const components: CostComponent[] = [];
    if (src.cloud === dst.cloud) {
      const p = src.region === dst.region ? price(0, "GB", "same region", "2026-11") : interRegionPrice(src, dst);
      components.push(component(`Inter-region data transfer (${route})`, link.gb, p));
      return finish(link, "inter-region", components);
    }
    const free = Math.min(freeLeft.get(src.cloud) ?? 0, link.gb);
    if (free > 0) {
      freeLeft.set(src.cloud, (freeLeft.get(src.cloud) ?? 0) - free);
      const allowance = freeInternetEgressGB[src.cloud];
      components.push(component(`Internet data transfer, free allowance (${route})`, free, price(0, "GB", allowance.source, allowance.date)));
    }
    const start = metered.get(src.id) ?? 0;
    for (const charge of walkTiers(internetEgressTiers(src), start, link.gb - free)) {
      components.push(component(`Internet data transfer${charge.label ? ` (${charge.label})` : ""} (${route})`, charge.quantity, charge.price));
    }
    metered.set(src.id, start + link.gb - free);
    return finish(link, "internet", components);
  });
}

function component(name: string, quantity: number, p: Price): CostComponent {
  return { name, unit: p.unit, monthlyQuantity: quantity, price: p, monthlyCents: toCents(quantity * p.usd), usageBased: true };
}

function finish(link: Link, kind: PricedLink["kind"], components: CostComponent[]): PricedLink {
  return { ...link, kind, components, monthlyCents: components.reduce((s, c) => s + c.monthlyCents, 0) };
}

export interface TopologyCost {
  topology: Topology;
  links: PricedLink[];
  monthlyCents: number;
}

export function topologyCost(input: TopologyInput & { regions: EgressRegion[] }, topology: Topology): TopologyCost {
  const links = priceLinks(replicationLinks(input, topology), input.regions);
  return { topology, links, monthlyCents: links.reduce((s, l) => s + l.monthlyCents, 0) };
}

export const ALL_TOPOLOGIES: Topology[] = ["full-mesh", "star", "regional", "hierarchical"];

/** Every topology's cost for the same writers and volumes, cheapest first. */
export function compareTopologies(input: TopologyInput & { regions: EgressRegion[] }): TopologyCost[] {
  return ALL_TOPOLOGIES.map((t) => topologyCost(input, t)).sort((a, b) => a.monthlyCents - b.monthlyCents);
}
