/**
 * The global allocator (Doorman's server, as a pure core): clients (regional limiters) ask for a
 * resource's capacity with what they `wants`; the allocator answers with what each `has`, as a
 * **lease** that expires. Entitlements come from the resource's algorithm over all live wants; a
 * grant never exceeds what the other clients' unexpired leases leave free, so Σ has ≤ capacity at
 * every instant. Expired leases are reclaimed (their capacity goes back to the pool) and a client that
 * asks for less releases the difference at once; both are redistributed on the next refreshes.
 *
 * Predictive shares (§11.2.3, a resource's `forecast`): the algorithm runs on max(wants, the next refresh's
 * forecast) of each client's asks (forecast.ts, the one code path the Redis and gossip sources share).
 */
import { checkForecast, predictWants, type ForecastConfig } from "./forecast.js";
import { entitlements, type ShareAlgorithm } from "./shares.js";

export interface ResourceConfig {
  id: string;
  /** Capacity in units per second (requests/s). */
  capacity: number;
  algorithm: ShareAlgorithm;
  /** How long a lease lasts; clients refresh well before (refreshMs). */
  leaseMs: number;
  refreshMs: number;
  /** Per-client share for the static algorithm. */
  staticPerClient?: number;
  /** What a client may use when its lease has expired and the allocator is unreachable (default 0). */
  safeCapacity?: number;
  /** Predictive shares: forecast each client's wants from its last `history` asks (season in refreshes). */
  forecast?: ForecastConfig;
}

export interface Lease {
  resource: string;
  has: number;
  expiresAt: number;
  refreshMs: number;
  safeCapacity: number;
}

interface ClientRecord {
  wants: number;
  /** What the algorithm runs on: wants, or max(wants, forecast) with a forecast configured. */
  predicted: number;
  /** The client's last asks, oldest first (forecast only). */
  history: number[];
  has: number;
  expiresAt: number;
}

export class GlobalAllocator {
  private readonly resources = new Map<string, { config: ResourceConfig; clients: Map<string, ClientRecord> }>();

  constructor(configs: readonly ResourceConfig[]) {
    for (const c of configs) {
      if (!(c.capacity >= 0) || !(c.leaseMs > 0) || !(c.refreshMs > 0) || c.refreshMs >= c.leaseMs) throw new RangeError(`resource ${c.id}: expected capacity ≥ 0 and 0 < refreshMs < leaseMs`);
      checkForecast(c.id, c.forecast);
      this.resources.set(c.id, { config: c, clients: new Map() });
    }
  }

  /** Add a resource if it is not known yet (the rate limit service declares one per global limit key). */
  ensureResource(c: ResourceConfig): void {
    if (!this.resources.has(c.id)) this.resources.set(c.id, { config: c, clients: new Map() });
  }

  private resource(id: string) {
    const r = this.resources.get(id);
    if (!r) throw new RangeError(`unknown resource "${id}"; expected one of ${[...this.resources.keys()].join(", ")}`);
    return r;
  }

  /** Doorman's GetCapacity: record `wants`, compute the entitlement, grant what is free of it. */
  getCapacity(resourceId: string, client: string, wants: number, now: number): Lease {
    if (!(wants >= 0) || !Number.isFinite(wants)) throw new RangeError(`wants is ${wants}; expected a finite number ≥ 0`);
    const r = this.resource(resourceId);
    this.reclaim(r.clients, now);
    const me = r.clients.get(client) ?? { wants: 0, predicted: 0, history: [], has: 0, expiresAt: 0 };
    me.wants = wants;
    me.predicted = predictWants(me.history, wants, r.config.forecast);
    r.clients.set(client, me);
    const ids = [...r.clients.keys()];
    const shares = entitlements(
      r.config.algorithm,
      r.config.capacity,
      ids.map((id) => r.clients.get(id)!.predicted),
      r.config.staticPerClient,
    );
    const entitled = shares[ids.indexOf(client)]!;
    let othersHave = 0;
    for (const [id, c] of r.clients) if (id !== client) othersHave += c.has;
    me.has = Math.max(0, Math.min(entitled, r.config.capacity - othersHave));
    me.expiresAt = now + r.config.leaseMs;
    return { resource: resourceId, has: me.has, expiresAt: me.expiresAt, refreshMs: r.config.refreshMs, safeCapacity: r.config.safeCapacity ?? 0 };
  }

  /** A client leaving: its capacity is free at once. */
  release(resourceId: string, client: string): void {
    this.resource(resourceId).clients.delete(client);
  }

  private reclaim(clients: Map<string, ClientRecord>, now: number): void {
    for (const [id, c] of clients) if (c.expiresAt <= now) clients.delete(id);
  }

  /** What each live client wants (and, with a forecast, is predicted to want) and has (for status pages and tests). */
  snapshot(resourceId: string, now: number): { client: string; wants: number; predicted?: number; has: number; expiresAt: number }[] {
    const r = this.resource(resourceId);
    this.reclaim(r.clients, now);
    return [...r.clients].map(([client, c]) => ({ client, wants: c.wants, ...(r.config.forecast ? { predicted: c.predicted } : {}), has: c.has, expiresAt: c.expiresAt }));
  }

  config(resourceId: string): ResourceConfig {
    return this.resource(resourceId).config;
  }
}
