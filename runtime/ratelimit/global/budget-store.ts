/**
 * Where the allocator service keeps per-window budgets (`POST /v1/allocator/budget`, the grants behind the
 * rate limit service's `global: true` limits, window-budget.ts): in this process (`memory`, one replica) or
 * in Redis (`redis`, one Lua script per grant with Redis `TIME` as the clock, shared by every replica on it).
 * A Redis that does not answer is a StoreDown (503): the rate limit service then applies its failure policy.
 */
import { z } from "zod";
import type { Cluster, Redis } from "ioredis";
import { StoreDown } from "./lease-store.js";
import { RedisBudgetAllocator } from "./redis-budget.js";
import { WindowBudgetAllocator, type BudgetGrant, type BudgetRequest } from "./window-budget.js";

export interface BudgetStore {
  acquire(r: BudgetRequest, now: number): Promise<BudgetGrant>;
}

const count = z.number().nonnegative().finite();
/** A budget request over the wire: the fields of BudgetRequest, bounded. */
export const budgetRequestSchema = z
  .object({
    resource: z.string().min(1).max(512),
    limit: count,
    periodMs: z.number().positive().finite(),
    client: z.string().min(1).max(256),
    window: z.number().finite(),
    used: count,
    need: count.optional(),
    wants: count,
    keep: count.optional(),
  })
  .strict();

export function memoryBudgetStore(): BudgetStore {
  const allocator = new WindowBudgetAllocator();
  return { acquire: (r, now) => Promise.resolve().then(() => allocator.acquire(r, now)) };
}

/** `target` names the store in errors (as redisLeaseStore's). */
export function redisBudgetStore(client: Redis | Cluster, prefix: string, target: string): BudgetStore {
  // Keys `<prefix>{budget:<resource>}`: one slot per limit on a Cluster.
  const allocator = new RedisBudgetAllocator(client, prefix);
  return {
    async acquire(r, now) {
      try {
        return await allocator.acquire(r, now);
      } catch (err) {
        throw new StoreDown(`${target} did not answer: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
