/**
 * Test helper: the prod estate with its `meridian:dns` block patched, evaluated under mocks. Only the
 * regional clusters (whose gateways are the endpoints) and the traffic area are built: the assertions
 * are about DNS, and the other areas were most of each evaluation.
 */
import { readStackConfigMap } from "../../../stacks/load.js";
import { withEverySolver } from "../../fixtures/dns01.js";
import { evaluateStack, type Plan } from "../../harness.js";

export const TRAFFIC = ["traffic"];

export type DnsPatch = Record<string, unknown>;

export function prodDns(): Record<string, unknown> {
  return readStackConfigMap("prod")["meridian:dns"] as Record<string, unknown>;
}

export async function planWithDns(patch: DnsPatch, stack = "prod"): Promise<Plan> {
  const config = readStackConfigMap(stack);
  const dns = config["meridian:dns"] as Record<string, unknown>;
  return evaluateStack(stack, { areas: TRAFFIC, configOverrides: { "meridian:dns": { ...dns, ...patch }, "meridian:pki": withEverySolver(config["meridian:pki"]) } });
}

/** The hierarchy with every provider that routes `mode` natively. */
export const PROVIDERS_FOR = {
  weighted: { primary: "route53", secondary: "clouddns", tertiary: "cloudflare", standbys: ["trafficmanager"] },
  geo: { primary: "route53", secondary: "clouddns", tertiary: "cloudflare", standbys: ["trafficmanager"] },
  failover: { primary: "route53", secondary: "clouddns", tertiary: "cloudflare", standbys: ["trafficmanager"] },
  latency: { primary: "route53", secondary: "trafficmanager", tertiary: "cloudflare" },
  anycast: { primary: "cloudflare" },
} as const;

export function planForMode(mode: keyof typeof PROVIDERS_FOR, patch: DnsPatch = {}): Promise<Plan> {
  return planWithDns({ routing: mode, providers: PROVIDERS_FOR[mode], ...patch });
}
