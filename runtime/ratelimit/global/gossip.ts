/**
 * Gossip coordination, the option without an allocator: every region periodically publishes what it
 * wants and has (`Announcement`), keeps a view of its peers, and leases to itself. Its entitlement is
 * the resource's algorithm over all announced wants; it may *raise* its `has` by at most the free
 * capacity it sees divided by the number of regions (configured, since a region cannot count peers
 * it has not heard from yet), so regions acting on the same view together take
 * no more than what is free. Lowering is immediate. Invariant (stated, tested): Σ has ≤ capacity as
 * long as each announcement reaches every peer within one refresh interval; a peer silent for a lease
 * is dropped from the view (its own lease has expired by then, so it is using safeCapacity).
 *
 * With the resource's `forecast`, each region forecasts its own asks (forecast.ts, the allocator's code path)
 * and announces `predicted` beside `wants`; entitlements run on what each region predicted. The raise rule is
 * unchanged, so the invariant holds with forecasts on too.
 */
import type { Lease, ResourceConfig } from "./allocator.js";
import { checkForecast, predictWants } from "./forecast.js";
import { entitlements } from "./shares.js";

export interface Announcement {
  resource: string;
  client: string;
  wants: number;
  /** max(wants, forecast) when the resource forecasts; the share algorithm's input. */
  predicted?: number;
  has: number;
  expiresAt: number;
}

export class GossipAllocator {
  private readonly peers = new Map<string, Announcement>();
  private has = 0;
  /** Our own asks, oldest first (forecast only). */
  private readonly history: number[] = [];

  constructor(
    private readonly config: ResourceConfig,
    private readonly client: string,
    private readonly regions: number,
  ) {
    if (!Number.isInteger(regions) || regions < 1) throw new RangeError(`regions is ${regions}; expected an integer ≥ 1`);
    checkForecast(config.id, config.forecast);
  }

  /** A peer's announcement (own announcements echoed back by the bus are ignored). */
  receive(a: Announcement): void {
    if (a.resource !== this.config.id || a.client === this.client) return;
    const known = this.peers.get(a.client);
    if (!known || known.expiresAt <= a.expiresAt) this.peers.set(a.client, a);
  }

  /** Lease to ourselves for `wants`; returns the lease and the announcement to publish. */
  lease(wants: number, now: number): { lease: Lease; announce: Announcement } {
    for (const [id, p] of this.peers) if (p.expiresAt <= now) this.peers.delete(id);
    const peers = [...this.peers.values()];
    const predicted = predictWants(this.history, wants, this.config.forecast);
    const all = [predicted, ...peers.map((p) => p.predicted ?? p.wants)];
    const entitled = entitlements(this.config.algorithm, this.config.capacity, all, this.config.staticPerClient)[0]!;
    const peersHave = peers.reduce((s, p) => s + p.has, 0);
    const free = Math.max(0, this.config.capacity - peersHave - this.has);
    const target = Math.min(entitled, this.config.capacity - peersHave);
    this.has = target <= this.has ? Math.max(0, target) : Math.min(target, this.has + free / Math.max(this.regions, peers.length + 1));
    const expiresAt = now + this.config.leaseMs;
    return {
      lease: { resource: this.config.id, has: this.has, expiresAt, refreshMs: this.config.refreshMs, safeCapacity: this.config.safeCapacity ?? 0 },
      announce: { resource: this.config.id, client: this.client, wants, ...(this.config.forecast ? { predicted } : {}), has: this.has, expiresAt },
    };
  }

  view(): Announcement[] {
    return [...this.peers.values()];
  }
}
