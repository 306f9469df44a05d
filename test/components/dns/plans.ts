/** Test helper: the prod estate with its `meridian:dns` block patched, evaluated under mocks. */
import { readStackConfigMap } from "../../../stacks/load.js";
import { evaluateStack, type Plan } from "../../harness.js";

export type DnsPatch = Record<string, unknown>;

export function prodDns(): Record<string, unknown> {
  return readStackConfigMap("prod")["meridian:dns"] as Record<string, unknown>;
}

/**
 * These tests move the zone between providers; the PKI area's DNS-01 solver then needs that provider's
 * settings, so give it every provider's (the stack files carry only their own primary's).
 */
const SOLVER_SETTINGS = {
  clouddns: { project: "meridian-dns-test" },
  azuredns: {
    subscriptionID: "11111111-2222-4333-8444-555555555555",
    tenantID: "22222222-2222-4333-8444-555555555555",
    clientID: "33333333-2222-4333-8444-555555555555",
    resourceGroupName: "meridian-dns",
  },
};

export async function planWithDns(patch: DnsPatch, stack = "prod"): Promise<Plan> {
  const config = readStackConfigMap(stack);
  const dns = config["meridian:dns"] as Record<string, unknown>;
  const pki = config["meridian:pki"] as { acme: { dns01?: object } };
  const withSolvers = { ...pki, acme: { ...pki.acme, dns01: { ...pki.acme.dns01, ...SOLVER_SETTINGS } } };
  return evaluateStack(stack, { configOverrides: { "meridian:dns": { ...dns, ...patch }, "meridian:pki": withSolvers } });
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
