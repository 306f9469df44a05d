/**
 * Infracost's JSON output (format version 0.2), as its schema (schema/infracost.schema.json in
 * github.com/infracost/infracost) defines it: every object closed (no extra keys), money and quantities
 * as decimal strings. Meridian fills it so `infracost output` / `infracost comment` and OPA / conftest
 * policies written for `infracost breakdown --format json` read it; Meridian's own extras (price sources,
 * URNs, categories) live in the `metadata` maps the schema leaves open.
 */
export interface InfracostCostComponent {
  name: string;
  unit: string;
  hourlyQuantity: string;
  monthlyQuantity: string;
  price: string;
  hourlyCost: string;
  monthlyCost: string;
  usageBased?: boolean;
  priceNotFound: boolean;
}

export interface InfracostResource {
  name: string;
  resourceType: string;
  metadata: Record<string, unknown>;
  hourlyCost?: string;
  monthlyCost?: string;
  monthlyUsageCost?: string;
  costComponents?: InfracostCostComponent[];
}

export interface Breakdown {
  resources: InfracostResource[];
  freeResources?: InfracostResource[];
  totalHourlyCost: string;
  totalMonthlyCost: string;
  totalMonthlyUsageCost: string;
}

export interface ProjectDiag {
  code: number;
  message: string;
  data: unknown;
  isError: boolean;
}

export interface Summary {
  totalDetectedResources: number;
  totalSupportedResources: number;
  totalUnsupportedResources: number;
  totalUsageBasedResources: number;
  totalNoPriceResources: number;
  supportedResourceCounts: Record<string, number>;
  unsupportedResourceCounts: Record<string, number>;
  noPriceResourceCounts: Record<string, number>;
}

export interface Project {
  name: string;
  displayName: string;
  metadata: { path: string; type: string; warnings?: ProjectDiag[] };
  pastBreakdown: Breakdown;
  breakdown: Breakdown;
  diff: Breakdown;
  summary: Summary;
}

/** Root metadata: Infracost fills the VCS fields from git; unknown ones are empty, the timestamp Go's zero time. */
export interface RootMetadata {
  infracostCommand: string;
  vcsBranch: string;
  vcsCommitSha: string;
  vcsCommitAuthorName: string;
  vcsCommitAuthorEmail: string;
  vcsCommitTimestamp: string;
  vcsCommitMessage: string;
  vcsRepositoryUrl?: string;
}

export interface InfracostRoot {
  version: "0.2";
  metadata: RootMetadata;
  currency: "USD";
  projects: Project[];
  totalHourlyCost: string;
  totalMonthlyCost: string;
  totalMonthlyUsageCost: string;
  pastTotalHourlyCost: string;
  pastTotalMonthlyCost: string;
  pastTotalMonthlyUsageCost: string;
  diffTotalHourlyCost: string;
  diffTotalMonthlyCost: string;
  diffTotalMonthlyUsageCost: string;
  timeGenerated: string;
  summary: Summary;
}

const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

export function emptyMetadata(command = "breakdown"): RootMetadata {
  return { infracostCommand: command, vcsBranch: "", vcsCommitSha: "", vcsCommitAuthorName: "", vcsCommitAuthorEmail: "", vcsCommitTimestamp: GO_ZERO_TIME, vcsCommitMessage: "" };
}
