/**
 * The stack's cost report as Infracost's breakdown JSON (see infracost.ts). Two sources, one document:
 * - the plan: every cloud resource priced from its own known inputs (sizes come from the stack through
 *   the components), declared free, or listed as unsupported by type and resource;
 * - the stack's usage estimates: egress per link — replication, and the mesh's cross-region calls through the
 *   east-west gateways — and per source meter (free allowance and volume tiers, over both, as negative
 *   adjustments), and DNS query volume per provider.
 * Invariant: each resource's monthlyCost is the sum of its components, each total the sum of its
 * resources, all in whole cents. With a baseline, pastBreakdown and a per-resource diff follow.
 */
import type { EstateSpec } from "../estate.js";
import type { PlannedResource } from "../resources.js";
import { StackConfigError, type ConfigProblem } from "../config/errors.js";
import { diffBreakdown, type Baseline } from "./diff.js";
import { priceEgress, type CostComponent, type MeterAdjustment, type PricedEgress, type PricedLink } from "./egress.js";
import { eastWestLinks, type EastWestLink } from "./east-west.js";
import { emptyMetadata, type Breakdown, type InfracostCostComponent, type InfracostResource, type InfracostRoot, type ProjectDiag, type RootMetadata, type Summary } from "./infracost.js";
import { centsToString } from "./money.js";
import { priceResources } from "./pricing/index.js";
import { HOURS_PER_MONTH } from "./pricing/types.js";
import { usageSources as defaultSources, type UsageSource } from "./sources.js";
import { replicationLinks, type Link, type TopologyInput } from "./topology.js";
import { priceUsage } from "./usage.js";

export type { Baseline } from "./diff.js";
export type CostReport = InfracostRoot;
export type { InfracostResource } from "./infracost.js";

export interface CostReportOptions {
  /** The plan's resources (unknowns as UNKNOWN); without them only usage (egress, queries) is priced. */
  resources?: PlannedResource[];
  sources?: UsageSource[];
  baseline?: Baseline;
  /** ISO time the report was generated (the model reads no clock). */
  generatedAt?: string;
  metadata?: Partial<RootMetadata>;
}

/**
 * The topology input for a stack. Relays are checked here (the replication schema cannot see regions):
 * each must be a region on the continent it relays for.
 */
export function replicationInput(spec: EstateSpec): TopologyInput & { regions: EstateSpec["regions"] } {
  const problems: ConfigProblem[] = [];
  for (const [continent, id] of Object.entries(spec.replication.relays)) {
    const region = spec.regions.find((r) => r.id === id);
    if (region?.continent !== continent) {
      const expected = spec.regions.filter((r) => r.continent === continent).map((r) => r.id);
      problems.push({
        keyPath: `meridian:replication.relays.${continent}`,
        value: JSON.stringify(id),
        expected: expected.length ? `a region on ${continent}: ${expected.join(", ")}` : `no region of this stack is on ${continent}`,
      });
    }
  }
  if (problems.length) throw new StackConfigError(`Pulumi.${spec.stack}.yaml`, problems);
  return { regions: spec.regions, writers: spec.replication.writers, writeGBPerMonth: spec.replication.writeGBPerMonth, relays: spec.replication.relays };
}

export function replicationEgress(spec: EstateSpec): PricedEgress {
  return priceEgress(replicationLinks(replicationInput(spec), spec.replication.topology), spec.regions);
}

type Tagged<L, T extends string> = L & { traffic: T };

export interface EstateEgress {
  replication: PricedLink<Tagged<Link, "replication">>[];
  eastWest: PricedLink<Tagged<EastWestLink, "east-west">>[];
  /** Each source region's meter over both: the free allowance and volume tiers are the account's, whatever the traffic. */
  adjustments: MeterAdjustment[];
  monthlyCents: number;
}

/** Everything the stack sends between regions, priced in one pass so each meter's tiers see all of its volume. */
export function estateEgress(spec: EstateSpec): EstateEgress {
  const links: (Tagged<Link, "replication"> | Tagged<EastWestLink, "east-west">)[] = [
    ...replicationLinks(replicationInput(spec), spec.replication.topology).map((l) => ({ ...l, traffic: "replication" as const })),
    ...eastWestLinks(spec).map((l) => ({ ...l, traffic: "east-west" as const })),
  ];
  const priced = priceEgress(links, spec.regions);
  return {
    replication: priced.links.filter((l) => l.traffic === "replication"),
    eastWest: priced.links.filter((l) => l.traffic === "east-west"),
    adjustments: priced.adjustments,
    monthlyCents: priced.monthlyCents,
  };
}

/** The project's priced resources (Infracost keeps them under projects[].breakdown). */
export function reportResources(report: CostReport): InfracostResource[] {
  return report.projects[0]?.breakdown.resources ?? [];
}

export function buildCostReport(spec: EstateSpec, options: CostReportOptions = {}): CostReport {
  const resources: InfracostResource[] = [];
  const plan = priceResources(options.resources ?? [], spec);
  for (const p of plan.priced) {
    resources.push(resource(p.resource.name, p.resource.type, p.components, { urn: p.resource.urn ?? null, category: p.category }));
  }
  // Usage the stack estimates: DNS queries (per provider), then egress (replication and east-west).
  const grouped = new Map<string, { type: string; components: CostComponent[] }>();
  for (const priced of priceUsage((options.sources ?? defaultSources).flatMap((source) => source(spec)).filter((i) => i.usageBased))) {
    const g = grouped.get(priced.item.resource) ?? { type: priced.item.resourceType, components: [] };
    g.components.push(...priced.components);
    grouped.set(priced.item.resource, g);
  }
  for (const [name, g] of grouped) resources.push(resource(name, g.type, g.components, { usageEstimate: "meridian:dns.monthlyQueriesMillions" }));
  const egress = estateEgress(spec);
  // Replication links and east-west traffic are priced alike (the egress model); only their names and inputs differ.
  const egressKinds = [
    [egress.replication, "replication", "meridian:replication:Link", "meridian:replication.writeGBPerMonth"],
    [egress.eastWest, "east-west", "meridian:mesh:EastWestTraffic", "meridian:runtime.eastWestGBPerMonth"],
  ] as const;
  for (const [links, prefix, type, usageEstimate] of egressKinds) {
    for (const link of links) {
      resources.push(
        resource(`${prefix}/${link.from}->${link.to}`, type, link.components, {
          usageEstimate,
          category: "egress",
          from: link.from,
          to: link.to,
          kind: link.kind,
          gbPerMonth: link.gb,
          carries: link.carries,
        }),
      );
    }
  }
  const meterEstimates = ["meridian:replication.writeGBPerMonth", ...(egress.eastWest.length ? ["meridian:runtime.eastWestGBPerMonth"] : [])].join(", ");
  for (const adj of egress.adjustments) {
    resources.push(resource(`egress-discounts/${adj.region}`, "meridian:replication:EgressMeter", adj.components, { usageEstimate: meterEstimates, category: "egress", region: adj.region }));
  }
  const free = plan.free.map((f) => ({ name: f.resource.name, resourceType: f.resource.type, metadata: { urn: f.resource.urn ?? null, reason: f.reason } }));
  const breakdown = totals(resources, free);
  const past = options.baseline ? baselineBreakdown(options.baseline) : totals([], []);
  const diff = diffBreakdown(breakdown, past);
  const summary = summarize(plan, resources);
  const warnings: ProjectDiag[] = [...groupBy(plan.unsupported, (r) => r.type)].map(([type, rs]) => ({
    code: 1001,
    message: `${rs.length} ${type} resource${rs.length === 1 ? " is" : "s are"} not priced (no pricer for this type)`,
    data: { resourceType: type, resources: rs.map((r) => r.name) },
    isError: false,
  }));
  return {
    version: "0.2",
    metadata: { ...emptyMetadata(), ...options.metadata },
    currency: "USD",
    projects: [
      {
        name: `meridian/${spec.stack}`,
        displayName: `${spec.stack} (${spec.environment})`,
        metadata: { path: `stacks/Pulumi.${spec.stack}.yaml`, type: "pulumi_preview", ...(warnings.length ? { warnings } : {}) },
        pastBreakdown: past,
        breakdown,
        diff,
        summary,
      },
    ],
    totalHourlyCost: breakdown.totalHourlyCost,
    totalMonthlyCost: breakdown.totalMonthlyCost,
    totalMonthlyUsageCost: breakdown.totalMonthlyUsageCost,
    pastTotalHourlyCost: past.totalHourlyCost,
    pastTotalMonthlyCost: past.totalMonthlyCost,
    pastTotalMonthlyUsageCost: past.totalMonthlyUsageCost,
    diffTotalHourlyCost: diff.totalHourlyCost,
    diffTotalMonthlyCost: diff.totalMonthlyCost,
    diffTotalMonthlyUsageCost: diff.totalMonthlyUsageCost,
    timeGenerated: options.generatedAt ?? "1970-01-01T00:00:00Z",
    summary,
  };
}

function resource(name: string, resourceType: string, components: CostComponent[], metadata: Record<string, unknown>): InfracostResource {
  const cents = components.reduce((s, c) => s + c.monthlyCents, 0);
  const usageCents = components.filter((c) => c.usageBased).reduce((s, c) => s + c.monthlyCents, 0);
  return {
    name,
    resourceType,
    metadata: {
      ...metadata,
      priceSources: components.map((c) => `${c.price.source} (${c.price.date})${c.price.verified ? "" : " unverified"}${c.price.note ? `: ${c.price.note}` : ""}`),
    },
    hourlyCost: hourly(cents),
    monthlyCost: centsToString(cents),
    monthlyUsageCost: centsToString(usageCents),
    costComponents: components.map(costComponent),
  };
}

function costComponent(c: CostComponent): InfracostCostComponent {
  return {
    name: c.name,
    unit: c.unit,
    hourlyQuantity: decimal(c.monthlyQuantity / HOURS_PER_MONTH),
    monthlyQuantity: decimal(c.monthlyQuantity),
    price: decimal(c.price.usd),
    hourlyCost: decimal(c.monthlyCents / 100 / HOURS_PER_MONTH),
    monthlyCost: centsToString(c.monthlyCents),
    ...(c.usageBased ? { usageBased: true } : {}),
    priceNotFound: c.priceNotFound === true,
  };
}

function totals(resources: InfracostResource[], free: InfracostResource[]): Breakdown {
  const cents = sumCents(resources.map((r) => r.monthlyCost ?? "0"));
  const usage = sumCents(resources.map((r) => r.monthlyUsageCost ?? "0"));
  return { resources, ...(free.length ? { freeResources: free } : {}), totalHourlyCost: hourly(cents), totalMonthlyCost: centsToString(cents), totalMonthlyUsageCost: centsToString(usage) };
}

function baselineBreakdown(b: Baseline): Breakdown {
  const resources = b.resources.map((r) => ({
    name: r.name,
    resourceType: r.resourceType ?? "",
    metadata: {},
    monthlyCost: r.monthlyCost,
    monthlyUsageCost: r.monthlyUsageCost ?? "0",
    hourlyCost: hourly(parseCents(r.monthlyCost, `baseline ${r.name}`)),
    costComponents: [],
  }));
  const cents = parseCents(b.totalMonthlyCost, "baseline totalMonthlyCost");
  const usage = sumCents(resources.map((r) => r.monthlyUsageCost));
  return { resources, totalHourlyCost: hourly(cents), totalMonthlyCost: centsToString(cents), totalMonthlyUsageCost: centsToString(usage) };
}

function summarize(plan: ReturnType<typeof priceResources>, resources: InfracostResource[]): Summary {
  const count = (rs: PlannedResource[]) => Object.fromEntries([...groupBy(rs, (r) => r.type)].map(([t, xs]) => [t, xs.length]));
  const priced = plan.priced.map((p) => p.resource);
  return {
    totalDetectedResources: priced.length + plan.free.length + plan.unsupported.length,
    totalSupportedResources: priced.length + plan.free.length,
    totalUnsupportedResources: plan.unsupported.length,
    totalUsageBasedResources: resources.filter((r) => r.costComponents?.some((c) => c.usageBased)).length,
    totalNoPriceResources: plan.free.length,
    supportedResourceCounts: count(priced),
    unsupportedResourceCounts: count(plan.unsupported),
    noPriceResourceCounts: count(plan.free.map((f) => f.resource)),
  };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) m.set(key(i), [...(m.get(key(i)) ?? []), i]);
  return new Map([...m].sort((a, b) => a[0].localeCompare(b[0])));
}

function parseCents(text: string, what: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`${what}: expected a decimal string such as "12.34", got ${JSON.stringify(text)}`);
  return Math.round(Number(text) * 100);
}

function sumCents(values: string[]): number {
  return values.reduce((s, v) => s + parseCents(v, "monthlyCost"), 0);
}

function hourly(cents: number): string {
  return decimal(cents / 100 / HOURS_PER_MONTH);
}

/** A decimal string without binary noise (at most 6 places, trailing zeros dropped). */
function decimal(n: number): string {
  return String(Number(n.toFixed(6)));
}
