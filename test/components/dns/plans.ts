/** Test helper: the prod estate with its `meridian:dns` block patched, evaluated under mocks. */
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import { readStackConfigMap } from "../../../stacks/load.js";
import { evaluateStack, type Plan } from "../../harness.js";

export type DnsPatch = Record<string, unknown>;

export function prodDns(): Record<string, unknown> {
  return readStackConfigMap("prod")["meridian:dns"] as Record<string, unknown>;
}

export async function planWithDns(patch: DnsPatch, stack = "prod"): Promise<Plan> {
  const dns = readStackConfigMap(stack)["meridian:dns"] as Record<string, unknown>;
  return settled(evaluateStack(stack, { configOverrides: { "meridian:dns": { ...dns, ...patch } } }));
}

/**
 * Wait for the run's outstanding engine RPCs (the stack's own registerOutputs) before the next
 * evaluation resets the mocks; otherwise a late RPC of this run reaches the next run's monitor.
 */
export async function settled(plan: Promise<Plan>): Promise<Plan> {
  const result = await plan;
  await waitForEngine();
  return result;
}

/** `waitForRPCs` is internal to @pulumi/pulumi (not in its .d.ts); it is what `pulumi up` awaits at exit. */
export function waitForEngine(): Promise<void> {
  return (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
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
