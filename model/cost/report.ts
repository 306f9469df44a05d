/**
 * The stack's cost report, Infracost-shaped (JSON format version 0.2: money and quantities as decimal
 * strings) so OPA / conftest cost rules written for Infracost run on it unchanged. Resources are the
 * replication links at list price, each source region's internet-egress meter adjustment (free allowance
 * and volume-tier discounts, negative), and every usage item the usage sources report, grouped
 * by resource. Invariant: each resource's monthlyCost is the sum of its components, the total the sum of
 * the resources, all in whole cents. With a baseline, past/diff totals and a per-resource diff follow.
 */
import type { EstateSpec } from "../estate.js";
import type { UsageItem } from "../usage.js";
import { priceEgress, type CostComponent, type PricedEgress } from "./egress.js";
import { centsToString } from "./money.js";
import { usageSources as defaultSources, type UsageSource } from "./sources.js";
import { replicationLinks, type TopologyInput } from "./topology.js";
import { StackConfigError, type ConfigProblem } from "../../stacks/errors.js";
import { priceUsage } from "./usage.js";

const HOURS_PER_MONTH = 730;

export interface InfracostCostComponent {
  name: string;
  unit: string;
  hourlyQuantity: string;
  monthlyQuantity: string;
  price: string;
  hourlyCost: string;
  monthlyCost: string;
  usageBased: boolean;
  /** Meridian extension: where the price came from. */
  priceSource: string;
}

export interface InfracostResource {
  name: string;
  resourceType: string;
  metadata: Record<string, unknown>;
  hourlyCost: string;
  monthlyCost: string;
  costComponents: InfracostCostComponent[];
}

export interface Baseline {
  totalMonthlyCost: string;
  resources: { name: string; monthlyCost: string; costComponents?: { name: string; monthlyCost: string }[] }[];
}

export interface CostReport {
  version: "0.2";
  currency: "USD";
  metadata: { stack: string; environment: string; topology: string; generator: "meridian" };
  projects: {
    name: string;
    breakdown: { resources: InfracostResource[]; totalHourlyCost: string; totalMonthlyCost: string };
    pastBreakdown: { totalMonthlyCost: string } | null;
    diff: { resources: InfracostResource[]; totalMonthlyCost: string } | null;
  }[];
  totalHourlyCost: string;
  totalMonthlyCost: string;
  pastTotalMonthlyCost: string;
  diffTotalMonthlyCost: string;
  /** The project's resources (also at `projects[0].breakdown.resources`), for rules that read them flat. */
  resources: InfracostResource[];
  summary: {
    totalDetectedResources: number;
    totalSupportedResources: number;
    totalUnsupportedResources: number;
    totalUsageBasedResources: number;
    totalNoPriceResources: number;
    noPriceResourceCounts: Record<string, number>;
  };
}

export interface CostReportOptions {
  sources?: UsageSource[];
  baseline?: Baseline;
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

export function buildCostReport(spec: EstateSpec, options: CostReportOptions = {}): CostReport {
  const resources: InfracostResource[] = [];
  const egress = replicationEgress(spec);
  for (const link of egress.links) {
    resources.push(
      resource(`replication/${link.from}->${link.to}`, "meridian:replication:Link", link.components, {
        from: link.from,
        to: link.to,
        kind: link.kind,
        gbPerMonth: link.gb,
        carries: link.carries,
      }),
    );
  }
  for (const adj of egress.adjustments) {
    resources.push(resource(`egress-discounts/${adj.region}`, "meridian:replication:EgressMeter", adj.components, { region: adj.region }));
  }
  const usage: UsageItem[] = (options.sources ?? defaultSources).flatMap((source) => source(spec));
  const grouped = new Map<string, { type: string; components: CostComponent[] }>();
  for (const priced of priceUsage(usage)) {
    const g = grouped.get(priced.item.resource) ?? { type: priced.item.resourceType, components: [] };
    g.components.push(...priced.components);
    grouped.set(priced.item.resource, g);
  }
  for (const [name, g] of grouped) resources.push(resource(name, g.type, g.components, {}));

  const totalCents = sumCents(resources.map((r) => r.monthlyCost));
  const pastCents = options.baseline ? parseCents(options.baseline.totalMonthlyCost, "baseline totalMonthlyCost") : 0;
  const diff = options.baseline ? diffResources(resources, options.baseline) : null;
  const total = centsToString(totalCents);
  return {
    version: "0.2",
    currency: "USD",
    metadata: { stack: spec.stack, environment: spec.environment, topology: spec.replication.topology, generator: "meridian" },
    projects: [
      {
        name: `meridian/${spec.stack}`,
        breakdown: { resources, totalHourlyCost: hourly(totalCents), totalMonthlyCost: total },
        pastBreakdown: options.baseline ? { totalMonthlyCost: centsToString(pastCents) } : null,
        diff: diff ? { resources: diff, totalMonthlyCost: centsToString(totalCents - pastCents) } : null,
      },
    ],
    totalHourlyCost: hourly(totalCents),
    totalMonthlyCost: total,
    pastTotalMonthlyCost: centsToString(pastCents),
    diffTotalMonthlyCost: centsToString(totalCents - pastCents),
    resources,
    summary: {
      totalDetectedResources: resources.length + spec.regions.length,
      totalSupportedResources: resources.length,
      totalUnsupportedResources: 0,
      totalNoPriceResources: spec.regions.length,
      totalUsageBasedResources: resources.filter((r) => r.costComponents.some((c) => c.usageBased)).length,
      // Each region's gateway load balancer: FACTS.md records no NLB / GCP / Azure load-balancer price.
      noPriceResourceCounts: { "kubernetes:core/v1:Service": spec.regions.length },
    },
  };
}

function resource(name: string, resourceType: string, components: CostComponent[], metadata: Record<string, unknown>): InfracostResource {
  const cents = components.reduce((s, c) => s + c.monthlyCents, 0);
  return {
    name,
    resourceType,
    metadata,
    hourlyCost: hourly(cents),
    monthlyCost: centsToString(cents),
    costComponents: components.map((c) => ({
      name: c.name,
      unit: c.unit,
      hourlyQuantity: decimal(c.monthlyQuantity / HOURS_PER_MONTH),
      monthlyQuantity: decimal(c.monthlyQuantity),
      price: decimal(c.price.usd),
      hourlyCost: decimal(c.monthlyCents / 100 / HOURS_PER_MONTH),
      monthlyCost: centsToString(c.monthlyCents),
      usageBased: c.usageBased,
      priceSource: `${c.price.source} (${c.price.date})${c.price.verified ? "" : " unverified"}${c.price.note ? `: ${c.price.note}` : ""}`,
    })),
  };
}

/** Resources whose monthly cost changed, appeared or disappeared, with the change as their cost. */
function diffResources(current: InfracostResource[], baseline: Baseline): InfracostResource[] {
  const before = new Map(baseline.resources.map((r) => [r.name, r]));
  const out: InfracostResource[] = [];
  for (const r of current) {
    const past = before.get(r.name);
    const delta = parseCents(r.monthlyCost, r.name) - (past ? parseCents(past.monthlyCost, `baseline ${r.name}`) : 0);
    before.delete(r.name);
    if (delta !== 0 || !past) out.push({ ...r, monthlyCost: centsToString(delta), hourlyCost: hourly(delta), metadata: { ...r.metadata, change: past ? "changed" : "added" } });
  }
  for (const [name, past] of before) {
    const delta = -parseCents(past.monthlyCost, `baseline ${name}`);
    out.push({ name, resourceType: "", metadata: { change: "removed" }, hourlyCost: hourly(delta), monthlyCost: centsToString(delta), costComponents: [] });
  }
  return out;
}

export function parseCents(text: string, what: string): number {
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
