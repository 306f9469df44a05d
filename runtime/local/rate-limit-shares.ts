/**
 * The estate-wide rate limit, split over the regions that serve (running, not unhealthy) by the model's
 * shares: a region that dies or turns unhealthy gives its share to the survivors, and gets one back when the
 * GSLB sees it healthy again. New shares are pushed lowered ones first, so the regions' sum never exceeds
 * the limit; rebalances requested while one runs coalesce into one more round.
 */
import type { EstateSpec } from "../../model/estate.js";
import type { HealthState } from "../../model/traffic/health.js";
import { rateLimitShares } from "../../model/workloads/ratelimit-shares.js";

export interface ShareControls {
  spec(): EstateSpec;
  /** The regions this estate runs, in stack order. */
  regionIds(): string[];
  isRunning(region: string): boolean;
  health(): Record<string, HealthState>;
  /** Tell a region its share (requests/s); rejects when the region cannot be told. */
  push(region: string, requestsPerSecond: number): Promise<unknown>;
  record(detail: string): void;
}

export class RateLimitShares {
  /** Each region's current share (requests/s), as last pushed. */
  readonly current = new Map<string, number>();
  private rebalancing: Promise<void> | undefined;
  private again = false;

  constructor(private readonly c: ShareControls) {}

  rebalance(): Promise<void> {
    if (this.rebalancing) {
      this.again = true;
      return this.rebalancing;
    }
    this.rebalancing = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again);
    })().finally(() => (this.rebalancing = undefined));
    return this.rebalancing;
  }

  private async round(): Promise<void> {
    const health = this.c.health();
    const ids = this.c.regionIds();
    const serving = this.c.spec().regions.filter((r) => ids.includes(r.id) && this.c.isRunning(r.id) && health[r.id] !== "unhealthy");
    const next = serving.length ? rateLimitShares({ regions: serving, runtime: this.c.spec().runtime }) : {};
    const changes = ids.map((id) => ({ id, from: this.current.get(id) ?? 0, to: next[id] ?? 0 })).filter((x) => x.from !== x.to);
    for (const x of [...changes.filter((y) => y.to < y.from), ...changes.filter((y) => y.to > y.from)]) {
      if (!this.c.isRunning(x.id)) {
        this.current.set(x.id, 0);
        continue;
      }
      await this.c.push(x.id, x.to).then(
        () => this.current.set(x.id, x.to),
        () => undefined,
      );
    }
    if (changes.length) this.c.record([...this.current].map(([id, rps]) => `${id} ${rps}/s`).join(", "));
  }
}
