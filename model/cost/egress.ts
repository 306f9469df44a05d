/**
 * Egress pricing of the links traffic crosses regions on (replication, and the mesh's east-west calls: east-west.ts),
 * all on the same meters. Same-cloud links pay the cloud's inter-region rate (AWS by
 * source region, GCP/Azure by continent pair). Cross-cloud links leave over the internet and pay the
 * source's internet egress tiers: each source region is one meter; the cloud account's free allowance
 * is spent on meters in region-id order. Components are rounded to cents; a link's cost is the sum of
 * its components and depends on its own volume only.
 */
import type { Cloud } from "../config/vocabulary.js";
import type { Topology } from "../config/replication.js";
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
  /** The price table has no figure for this SKU: the component is listed at $0 and flagged (Infracost's priceNotFound). */
  priceNotFound?: boolean;
}

/** What egress prices: GB a month from one region to another (a replication link, a mesh link, ...). */
export interface EgressLink {
  from: string;
  to: string;
  gb: number;
}

export type PricedLink<L extends EgressLink = Link> = L & {
  kind: "inter-region" | "internet";
  components: CostComponent[];
  monthlyCents: number;
};

export interface MeterAdjustment {
  /** The source region whose internet-egress meter this adjusts. */
  region: string;
  components: CostComponent[];
  monthlyCents: number;
}

export interface PricedEgress<L extends EgressLink = Link> {
  links: PricedLink<L>[];
  /** Free allowance and volume-tier discounts, one per source region meter with any. */
  adjustments: MeterAdjustment[];
  monthlyCents: number;
}

/**
 * Each link is priced on its own volume at list price (the first-tier rate for internet egress), so a
 * link's cost depends only on its own volume; each source region's internet meter then carries the
 * free allowance and volume-tier discounts as a separate (negative) adjustment. Their sum is exactly
 * the tiered bill: Σ list − allowance − Σ band × (first-tier rate − band rate).
 */
export function priceEgress<L extends EgressLink = Link>(links: L[], regions: EgressRegion[]): PricedEgress<L> {
  const byId = new Map(regions.map((r) => [r.id, r]));
  const get = (id: string) => {
    const r = byId.get(id);
    if (!r) throw new Error(`link names unknown region ${id}`);
    return r;
  };
  const meters = new Map<string, number>(); // source region id -> internet GB
  const ordered = [...links].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  const priced = ordered.map((link): PricedLink<L> => {
    const src = get(link.from);
    const dst = get(link.to);
    const route = `${src.region} → ${dst.region}`;
    if (src.cloud === dst.cloud) {
      const p = src.region === dst.region ? price(0, "GB", "same region", "2026-11") : interRegionPrice(src, dst);
      return finish(link, "inter-region", [component(`Inter-region data transfer (${route})`, link.gb, p)]);
    }
    meters.set(src.id, (meters.get(src.id) ?? 0) + link.gb);
    const first = internetEgressTiers(src)[0]!;
    return finish(link, "internet", [component(`Internet data transfer (${route})`, link.gb, first.price)]);
  });

  const freeLeft = new Map<Cloud, number>(Object.entries(freeInternetEgressGB).map(([c, f]) => [c as Cloud, f.gb]));
  const adjustments: MeterAdjustment[] = [];
  for (const [id, gb] of [...meters].sort((a, b) => a[0].localeCompare(b[0]))) {
    const src = get(id);
    const tiers = internetEgressTiers(src);
    const firstUsd = tiers[0]!.price.usd;
    const components: CostComponent[] = [];
    const free = Math.min(freeLeft.get(src.cloud) ?? 0, gb);
    if (free > 0) {
      freeLeft.set(src.cloud, (freeLeft.get(src.cloud) ?? 0) - free);
      const a = freeInternetEgressGB[src.cloud];
      components.push(component(`Free internet egress allowance (${src.cloud}, ${src.region})`, free, price(-firstUsd, "GB", a.source, a.date)));
    }
    for (const charge of walkTiers(tiers, 0, gb - free)) {
      const discount = charge.price.usd - firstUsd;
      if (discount === 0) continue;
      const p = { ...charge.price, usd: Number(discount.toFixed(6)), note: `${charge.price.usd}/GB instead of ${firstUsd}/GB` };
      components.push(component(`Internet egress volume tier ${charge.label} (${src.region})`, charge.quantity, p));
    }
    if (components.length) adjustments.push({ region: id, components, monthlyCents: components.reduce((s, c) => s + c.monthlyCents, 0) });
  }
  const monthlyCents = priced.reduce((s, l) => s + l.monthlyCents, 0) + adjustments.reduce((s, a) => s + a.monthlyCents, 0);
  return { links: priced, adjustments, monthlyCents };
}

function component(name: string, quantity: number, p: Price): CostComponent {
  return { name, unit: p.unit, monthlyQuantity: quantity, price: p, monthlyCents: toCents(quantity * p.usd), usageBased: true };
}

function finish<L extends EgressLink>(link: L, kind: PricedLink["kind"], components: CostComponent[]): PricedLink<L> {
  return { ...link, kind, components, monthlyCents: components.reduce((s, c) => s + c.monthlyCents, 0) };
}

export interface TopologyCost extends PricedEgress {
  topology: Topology;
}

export function topologyCost(input: TopologyInput & { regions: EgressRegion[] }, topology: Topology): TopologyCost {
  return { topology, ...priceEgress(replicationLinks(input, topology), input.regions) };
}

const ALL_TOPOLOGIES: Topology[] = ["full-mesh", "star", "regional", "hierarchical"];

/** Every topology's cost for the same writers and volumes, cheapest first. */
export function compareTopologies(input: TopologyInput & { regions: EgressRegion[] }): TopologyCost[] {
  return ALL_TOPOLOGIES.map((t) => topologyCost(input, t)).sort((a, b) => a.monthlyCents - b.monthlyCents);
}
