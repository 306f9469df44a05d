/**
 * The foundation's mock runtime returns after `awaitStackRegistrations()`, before registrations still
 * waiting on other resources' outputs complete (a resource chained on a replica's endpoint arrives
 * later into the same array). Until it also awaits `settings.waitForRPCs()`, wait for the recorded list
 * to stop growing. Harmless once that is fixed.
 */
import type { Plan } from "../../harness.js";

export async function settled(planned: Promise<Plan>): Promise<Plan> {
  const plan = await planned;
  let stable = 0;
  for (let i = 0; i < 200 && stable < 3; i++) {
    const n = plan.resources.length;
    await new Promise((r) => setTimeout(r, 25));
    stable = plan.resources.length === n ? stable + 1 : 0;
  }
  return plan;
}
