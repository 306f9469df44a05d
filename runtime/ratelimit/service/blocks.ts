/**
 * Operator blocks: a counter an operator blocked answers OVER_LIMIT (probes too) until the block ends,
 * on every replica. Blocks live in the shared store — a Redis sorted set `<prefix>blocks` (member: the
 * counter's id, score: when the block ends) — and each replica mirrors it, re-reading every `syncMs`
 * (default 1 s) and at once after its own changes, so a block reaches every replica within one sync
 * interval. Without Redis (one replica) the mirror is the list. Expired blocks are dropped on read.
 */
import type { Cluster, Redis } from "ioredis";
import type { Clock } from "../../common/clock.js";

export interface Block {
  id: string;
  untilMs: number;
}

export class BlockList {
  private mirror = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  lastError: string | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly redis?: { client: Redis | Cluster; key: string },
    private readonly syncMs = 1000,
  ) {}

  /** True while `id` is blocked. */
  isBlocked(id: string, now: number): boolean {
    const t = this.mirror.get(id);
    return t !== undefined && t > now;
  }

  untilOf(id: string): number | undefined {
    return this.mirror.get(id);
  }

  list(now = this.clock.now()): Block[] {
    return [...this.mirror].filter(([, t]) => t > now).map(([id, untilMs]) => ({ id, untilMs }));
  }

  async block(id: string, untilMs: number): Promise<void> {
    if (this.redis) await this.redis.client.zadd(this.redis.key, untilMs, id);
    this.mirror.set(id, untilMs);
    await this.sync();
  }

  /** Lift a block; true when there was one. */
  async unblock(id: string): Promise<boolean> {
    const had = this.mirror.delete(id);
    if (!this.redis) return had;
    const removed = await this.redis.client.zrem(this.redis.key, id);
    await this.sync();
    return removed > 0 || had;
  }

  /** Re-read the shared list (dropping expired blocks there too). */
  async sync(): Promise<void> {
    if (!this.redis) {
      const now = this.clock.now();
      for (const [id, t] of this.mirror) if (t <= now) this.mirror.delete(id);
      return;
    }
    try {
      const now = this.clock.now();
      await this.redis.client.zremrangebyscore(this.redis.key, "-inf", now);
      const raw = await this.redis.client.zrangebyscore(this.redis.key, `(${now}`, "+inf", "WITHSCORES");
      const next = new Map<string, number>();
      for (let i = 0; i + 1 < raw.length; i += 2) next.set(raw[i]!, Number(raw[i + 1]));
      this.mirror = next;
      this.lastError = null;
    } catch (err) {
      // Keep the last mirror: a store outage must not lift blocks.
      this.lastError = (err as Error).message;
    }
  }

  start(): void {
    if (!this.redis || this.timer) return;
    const tick = () => void this.sync().finally(() => this.timer && (this.timer = setTimeout(tick, this.syncMs).unref()));
    this.timer = setTimeout(tick, this.syncMs).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
