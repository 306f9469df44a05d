/**
 * Redis store: one EVALSHA of store/lua.ts per decision, the whole hierarchy inside it (a single GCRA
 * level, the common case, runs a shorter script with the same arithmetic), so the check is
 * atomic across levels and across every instance sharing the Redis. Time comes from the caller's clock
 * (the service's injected clock), so all instances must keep clocks within a few ms — the same
 * assumption redis-cell and envoyproxy/ratelimit make.
 */
import { randomBytes } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { checkLevels, combine, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import { gcraMaxBurst, type Decision } from "../core/limit.js";
import { hierarchyKeys } from "./keys.js";
import { ALGORITHM_CODE, DECIDE_LUA, GCRA_LUA } from "./lua.js";
import type { RateLimitStore } from "./store.js";

export interface RedisStoreOptions {
  url: string;
  /** Key prefix (default `mrl:`). */
  prefix?: string;
  /** Fail a command after this long instead of queueing it (default 500 ms). */
  commandTimeoutMs?: number;
  redisOptions?: RedisOptions;
}

export class RedisStore implements RateLimitStore {
  readonly redis: Redis;
  readonly prefix: string;
  private nonce = 0;
  private readonly instance = randomBytes(6).toString("base64url");

  constructor(opts: RedisStoreOptions) {
    this.prefix = opts.prefix ?? "mrl:";
    this.redis = new Redis(opts.url, {
      commandTimeout: opts.commandTimeoutMs ?? 500,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      lazyConnect: false,
      ...opts.redisOptions,
    });
    // Connection errors surface on commands; without a listener ioredis would log every retry.
    this.redis.on("error", () => {});
  }

  async decide(levels: readonly Level[], cost: number, nowMs: number): Promise<HierarchyDecision> {
    checkLevels(levels, cost);
    const keys = hierarchyKeys(this.prefix, levels.map((l) => l.key));
    if (levels.length === 1 && levels[0]!.limit.algorithm === "gcra") return this.decideGcra(keys[0]!, levels[0]!, cost, nowMs);
    const args: (string | number)[] = [nowMs, cost, `${this.instance}.${(this.nonce = (this.nonce + 1) % 1e15)}`];
    for (const l of levels) {
      const { limit } = l;
      args.push(ALGORITHM_CODE[limit.algorithm], limit.limit, limit.periodMs, limit.burst ?? -1, limit.debt ?? 0);
    }
    const reply = await this.eval(keys, args);
    const decisions: Decision[] = levels.map((_, i) => ({
      allowed: reply[i * 5] === "1",
      limit: Number(reply[i * 5 + 1]),
      remaining: Number(reply[i * 5 + 2]),
      retryAfterMs: Number(reply[i * 5 + 3]),
      resetAfterMs: Number(reply[i * 5 + 4]),
    }));
    return combine(decisions, decisions.findIndex((d) => !d.allowed));
  }

  private async decideGcra(key: string, level: Level, cost: number, nowMs: number): Promise<HierarchyDecision> {
    const l = level.limit;
    const r = (await this.eval([key], [nowMs, cost, l.limit, l.periodMs, gcraMaxBurst(l)], GCRA_LUA)) as (number | string)[];
    const d: Decision = { allowed: r[0] === 1, limit: Number(r[1]), remaining: Number(r[2]), retryAfterMs: Number(r[3]), resetAfterMs: Number(r[4]) };
    return { ...d, levels: [d], blockedBy: d.allowed ? -1 : 0 };
  }

  private readonly shas = new Map<string, string>();

  private async eval(keys: string[], args: (string | number)[], script = DECIDE_LUA): Promise<string[]> {
    let sha = this.shas.get(script);
    if (sha === undefined) {
      sha = (await this.redis.script("LOAD", script)) as string;
      this.shas.set(script, sha);
    }
    try {
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as string[];
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      this.shas.delete(script);
      return (await this.redis.eval(script, keys.length, ...keys, ...args)) as string[];
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}
