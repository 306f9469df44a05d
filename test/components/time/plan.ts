// evaluateStack, then drain the engine's RPC queue: the foundation's mock runtime returns once the stack's
// own registrations settle, but resources whose inputs wait on other outputs (a DaemonSet naming its
// ConfigMap) can still be in flight. Reported to the lead; remove once runUnderMocks awaits waitForRPCs.
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import type { PlanOptions } from "../../../components/preview/plan.js";
import { evaluateStack, type Plan } from "../../harness.js";

export async function evaluateSettled(stack: string, options: PlanOptions = {}): Promise<Plan> {
  const plan = await evaluateStack(stack, options);
  // waitForRPCs is @internal in the SDK typings, but exported at runtime.
  await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return plan;
}
