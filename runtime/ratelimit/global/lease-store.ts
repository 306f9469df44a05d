/**
 * Where the allocator service keeps its leases (`store:` in its config), behind one interface so the HTTP and
 * NATS faces have one code path:
 * - `memory`: the in-process GlobalAllocator. One replica; a restart forgets every lease, so a new process
 *   may grant again capacity that clients of the old one still hold until their leases expire.
 * - `redis`: the Redis lease allocator (one Lua script per GetCapacity, Redis TIME as the clock). Any number
 *   of allocator replicas share the leases, so Σ has ≤ capacity holds across them and a replica that dies
 *   loses nothing: its leases stay counted until they expire.
 * A store that does not answer is a StoreDown (the service answers 503); an unknown resource or a bad
 * `wants` is a RangeError (404 / 400), raised before the store is asked.
 */
import type { Lease, ResourceConfig } from "./allocator.js";
import { GlobalAllocator } from "./allocator.js";
import type { ClientLease, RedisLeaseAllocator } from "./redis-allocator.js";

export interface LeaseStore {
  readonly kind: "memory" | "redis";
  /** Doorman's GetCapacity. */
  getCapacity(resource: string, client: string, wants: number, now: number): Promise<Lease>;
  /** The resource's live leases (status page). */
  snapshot(resource: string, now: number): Promise<ClientLease[]>;
  config(resource: string): ResourceConfig;
}

/** The store did not answer: no lease is granted, and the caller keeps its current one until it expires. */
export class StoreDown extends Error {
  override name = "StoreDown";
}

function lookup(resources: ReadonlyMap<string, ResourceConfig>, id: string): ResourceConfig {
  const r = resources.get(id);
  if (!r) throw new RangeError(`unknown resource "${id}"; expected one of ${[...resources.keys()].join(", ")}`);
  return r;
}

export function memoryLeaseStore(configs: readonly ResourceConfig[]): LeaseStore & { allocator: GlobalAllocator } {
  const allocator = new GlobalAllocator(configs);
  return {
    kind: "memory",
    allocator,
    getCapacity: async (resource, client, wants, now) => allocator.getCapacity(resource, client, wants, now),
    snapshot: async (resource, now) => allocator.snapshot(resource, now),
    config: (resource) => allocator.config(resource),
  };
}

/** `target` names the store in errors (`Redis at <URL>`, password redacted, or `Redis Cluster <nodes>`). */
export function redisLeaseStore(configs: readonly ResourceConfig[], redis: RedisLeaseAllocator, target: string): LeaseStore {
  // The same checks the in-process allocator makes, so a config is refused alike whatever the store.
  new GlobalAllocator(configs);
  const resources = new Map(configs.map((c) => [c.id, c]));
  const down = (err: unknown): never => {
    if (err instanceof RangeError) throw err;
    throw new StoreDown(`${target} did not answer: ${(err as Error).message}`);
  };
  return {
    kind: "redis",
    getCapacity: async (resource, client, wants, now) => {
      const r = lookup(resources, resource);
      if (!(wants >= 0) || !Number.isFinite(wants)) throw new RangeError(`wants is ${wants}; expected a finite number ≥ 0`);
      return redis.getCapacity(r, client, wants, now).catch(down);
    },
    snapshot: async (resource, now) => redis.snapshot(lookup(resources, resource), now).catch(down),
    config: (resource) => lookup(resources, resource),
  };
}
