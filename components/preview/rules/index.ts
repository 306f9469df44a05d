/**
 * Every provider rule the offline plan enforces, and the check that runs them over a recorded plan.
 * docs/provider-rules.md lists the same rules (a test keeps the two in step).
 */
import type { RecordedResource } from "../mock-runtime.js";
import { attestationRules } from "./attestation.js";
import { awsRules } from "./aws.js";
import { vpcPeeringRules } from "./aws-vpc-peering.js";
import { azureRules } from "./azure.js";
import { azureRedisEnterpriseRules } from "./azure-redis-enterprise.js";
import { azureVnetPeeringRules } from "./azure-vnet-peering.js";
import { cloudflareRules } from "./cloudflare.js";
import { dnssecRules } from "./dnssec.js";
import { gcpRules } from "./gcp.js";
import { gcpRedisClusterRules } from "./gcp-redis-cluster.js";
import { identityRules } from "./identity.js";
import { kubernetesRules } from "./kubernetes.js";
import { PlanView, type ProviderRule, type Violation } from "./rule.js";
import { replicationRules } from "./replication.js";
import { vpnRules } from "./vpn.js";

export type { ProviderRule, Violation } from "./rule.js";
export const PROVIDER_RULES: readonly ProviderRule[] = [
  ...awsRules,
  ...vpcPeeringRules,
  ...gcpRules,
  ...gcpRedisClusterRules,
  ...azureRules,
  ...azureRedisEnterpriseRules,
  ...azureVnetPeeringRules,
  ...cloudflareRules,
  ...dnssecRules,
  ...kubernetesRules,
  ...vpnRules,
  ...identityRules,
  ...replicationRules,
  ...attestationRules,
];

/** Every refusal the plan would meet at `pulumi up`, in registration order. */
export function checkProviderRules(resources: readonly RecordedResource[], rules: readonly ProviderRule[] = PROVIDER_RULES): Violation[] {
  const plan = new PlanView(resources);
  const byType = new Map<string, ProviderRule[]>();
  for (const rule of rules) for (const type of rule.types) byType.set(type, [...(byType.get(type) ?? []), rule]);
  const out: Violation[] = [];
  for (const r of resources) {
    for (const rule of byType.get(r.type) ?? []) {
      for (const message of rule.check(r, plan)) {
        out.push({ rule: rule.id, provider: rule.provider, urn: r.urn, type: r.type, name: r.name, message, source: rule.source });
      }
    }
  }
  return out;
}

/** The plan would be refused: `pulumi up` would fail on these resources with these messages. */
export class ProviderRulesError extends Error {
  constructor(
    readonly stackName: string,
    readonly violations: readonly Violation[],
  ) {
    super(formatViolations(stackName, violations));
    this.name = "ProviderRulesError";
  }
}

function formatViolations(stack: string, violations: readonly Violation[]): string {
  const lines = [`the providers would refuse stack ${stack}: ${violations.length} problem${violations.length === 1 ? "" : "s"}`];
  for (const v of violations) {
    lines.push(`  ${v.type} ${v.name}`, `    ${v.message}`, `    rule ${v.rule}: ${v.source}`);
  }
  return lines.join("\n");
}
