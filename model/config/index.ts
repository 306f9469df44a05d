/**
 * The stack config schema: one zod schema per area, composed here, plus the checks that span areas
 * (every region id a block names must exist). Parsing returns every problem at once.
 * It lives in model/ because it is the estate's vocabulary: model/ derives everything from these types and
 * imports nothing from stacks/, which only reads stack files (stacks/load.ts) and parses them with this schema.
 */
import { z } from "zod";
import { budgetSchema } from "./budget.js";
import { pkiSchema } from "./pki.js";
import { regionsSchema } from "./regions.js";
import { replicationSchema } from "./replication.js";
import { runtimeSchema } from "./runtime.js";
import { timeSchema } from "./time.js";
import { trafficSchema } from "./traffic.js";
import { DIGEST } from "../images/charts.js";

const environments = ["local", "dev", "staging", "prod"] as const;
export type Environment = (typeof environments)[number];

export const estateSchema = z
  .object({
    environment: z.enum(environments),
    regions: regionsSchema,
    dns: trafficSchema,
    pki: pkiSchema,
    replication: replicationSchema,
    time: timeSchema.prefault({}),
    runtime: runtimeSchema.prefault({}),
    budget: budgetSchema,
    /**
     * Digests of the images the Helm charts run, keyed by the tagged reference the chart would otherwise run
     * (model/images/charts.ts; `crane digest <key>` prints the value). Required outside `local` for every image
     * without a vendored digest.
     */
    imageDigests: z.record(z.string().regex(/^[^\s@]+:[^\s@/:]+$/, "expected <repository>:<tag>"), z.string().regex(DIGEST, "expected sha256:<64 hex digits>")).default({}),
  })
  .strict();

export interface CrossIssue {
  path: (string | number)[];
  input: unknown;
  message: string;
}

/**
 * Checks that span areas (every region id a block names must exist, ...). They read the raw config
 * defensively so they run even when other fields fail, and every problem is reported in one pass.
 */
export function crossChecks(raw: Record<string, unknown>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const ids = new Set(
    arr(raw["regions"])
      .map((r) => obj(r)["id"])
      .filter((id): id is string => typeof id === "string"),
  );
  const known = [...ids].join(", ");
  const check = (id: unknown, path: (string | number)[]) => {
    if (typeof id === "string" && !ids.has(id)) issues.push({ path, input: id, message: `unknown region id; expected one of ${known}` });
  };
  const dns = obj(raw["dns"]);
  arr(dns["failoverOrder"]).forEach((id, i) => check(id, ["dns", "failoverOrder", i]));
  Object.keys(obj(dns["weights"])).forEach((id) => check(id, ["dns", "weights", id]));
  arr(dns["drained"]).forEach((id, i) => check(id, ["dns", "drained", i]));
  const drained = new Set(arr(dns["drained"]));
  if (ids.size > 0 && [...ids].every((id) => drained.has(id))) {
    issues.push({ path: ["dns", "drained"], input: dns["drained"], message: `every region is drained; at least one must answer (restore one of ${known})` });
  }
  const replication = obj(raw["replication"]);
  arr(replication["writers"]).forEach((id, i) => check(id, ["replication", "writers", i]));
  Object.keys(obj(replication["writeGBPerMonth"])).forEach((id) => check(id, ["replication", "writeGBPerMonth", id]));
  check(obj(obj(raw["pki"])["rotation"])["canary"], ["pki", "rotation", "canary"]);
  const azureRegions = arr(raw["regions"])
    .map(obj)
    .filter((r) => r["cloud"] === "azure")
    .map((r) => String(r["id"]));
  const azureNetwork = obj(obj(replication["network"])["azure"]);
  Object.keys(obj(azureNetwork["virtualNetworkAddressSpaces"])).forEach((id) => check(id, ["replication", "network", "azure", "virtualNetworkAddressSpaces", id]));
  if (azureRegions.length > 0 && azureNetwork["subscriptionId"] === undefined) {
    // No default: a subscription id no subscription has would only fail at `pulumi up` (ARM refuses the ids).
    issues.push({
      path: ["replication", "network", "azure", "subscriptionId"],
      input: undefined,
      message:
        `required: ${azureRegions.join(", ")} ${azureRegions.length === 1 ? "is" : "are"} on Azure; the id of the subscription their resources live in (az account show --query id). ` +
        `Their subnets are named from it: /subscriptions/<subscriptionId>/resourceGroups/<resourceGroupName>/providers/Microsoft.Network/virtualNetworks/<virtualNetworkNameTemplate>/subnets/<delegatedSubnetName, GatewaySubnet or the cache's privateEndpointSubnetName>`,
    });
  }

  const providers = obj(dns["providers"]);
  const chain = [providers["primary"], providers["secondary"], providers["tertiary"]].filter((x) => x !== undefined);
  if (new Set(chain).size !== chain.length) {
    issues.push({ path: ["dns", "providers"], input: providers, message: "primary, secondary and tertiary must be different providers" });
  }
  const hc = obj(dns["healthCheck"]);
  if (typeof hc["timeoutSeconds"] === "number" && typeof hc["intervalSeconds"] === "number" && hc["timeoutSeconds"] >= hc["intervalSeconds"]) {
    issues.push({
      path: ["dns", "healthCheck", "timeoutSeconds"],
      input: hc["timeoutSeconds"],
      message: `timeout must be shorter than the interval (${hc["intervalSeconds"]}s)`,
    });
  }
  return issues;
}

export type EstateConfigInput = z.input<typeof estateSchema>;
export type EstateConfig = z.output<typeof estateSchema>;
export type { RegionConfig } from "./regions.js";
export type { TrafficConfig } from "./traffic.js";
export type { PkiConfig } from "./pki.js";
export type { ReplicationConfig } from "./replication.js";
export type { TimeConfig } from "./time.js";
export type { RuntimeConfig } from "./runtime.js";
export type { BudgetConfig } from "./budget.js";
