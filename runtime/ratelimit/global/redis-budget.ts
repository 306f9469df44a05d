/**
 * The per-window budget allocator (window-budget.ts) with its state in Redis: one script per request,
 * the same arithmetic, time from Redis `TIME` (so every region agrees on the window) unless the caller
 * passes one. Key `<prefix>{budget:<resource>}`: a hash with field `w` (the window it holds) and one
 * field per client, `has,used`; a new window starts empty, or with the shares granted ahead for it, kept
 * until then in `<prefix>next{budget:<resource>}`. Works on a single Redis or a Cluster (one hash slot).
 */
import type { Cluster, Redis } from "ioredis";
import type { BudgetGrant, BudgetRequest } from "./window-budget.js";

const BUDGET_LUA = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local client, limit, period = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window, used, wants, keep, need = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local current = math.floor(now / period) * period
if window ~= current and window ~= current + period then return { tostring(current), '0', '0' } end
-- KEYS[1] holds the current window's shares, KEYS[2] the next one's (asked for ahead); at a new window
-- the next one's become the current one's, and anything older is dropped.
if tonumber(redis.call('HGET', KEYS[1], 'w')) ~= current then
  if tonumber(redis.call('HGET', KEYS[2], 'w')) == current then
    redis.call('RENAME', KEYS[2], KEYS[1])
  else
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], 'w', current)
  end
end
local key = KEYS[1]
if window ~= current then
  key = KEYS[2]
  if tonumber(redis.call('HGET', key, 'w')) ~= window then
    redis.call('DEL', key)
    redis.call('HSET', key, 'w', window)
  end
end
redis.call('PEXPIRE', key, math.ceil(window + 2 * period - now))
local raw = redis.call('HGETALL', key)
local committed, has, mine = 0, 0, 0
for i = 1, #raw, 2 do
  if raw[i] ~= 'w' then
    local h, u = string.match(raw[i + 1], '([^,]+),([^,]+)')
    if raw[i] == client then has, mine = tonumber(h), tonumber(u) else committed = committed + tonumber(h) end
  end
end
mine = math.max(mine, used)
has = math.max(has, mine)
if keep >= 0 then has = math.max(mine, math.min(has, keep)) end
committed = committed + has
local free = math.max(0, limit - committed)
if need < 0 or need > wants then need = wants end
local now_grant = math.min(need, free)
local grant = now_grant + math.max(0, math.min(wants - need, math.floor((free - now_grant) / 2)))
has = has + grant
redis.call('HSET', key, client, string.format('%.17g,%.17g', has, mine))
return { tostring(window), string.format('%.17g', has), string.format('%.17g', free - grant) }
`;

interface Scripted {
  mrlBudget(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
}

export class RedisBudgetAllocator {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix = "mrl:",
    /** `redis` (default): Redis TIME decides the window; `caller`: the `now` passed in (tests). */
    private readonly time: "redis" | "caller" = "redis",
  ) {
    client.defineCommand("mrlBudget", { lua: BUDGET_LUA });
  }

  async acquire(r: BudgetRequest, now: number): Promise<BudgetGrant> {
    const tag = `{budget:${r.resource.replace(/[{}]/g, "_")}}`;
    const reply = await (this.client as unknown as Scripted).mrlBudget(
      2,
      `${this.prefix}${tag}`,
      `${this.prefix}next${tag}`,
      this.time === "redis" ? -1 : now,
      r.client,
      r.limit,
      r.periodMs,
      r.window,
      r.used,
      r.wants,
      r.keep ?? -1,
      r.need ?? -1,
    );
    return { window: Number(reply[0]), has: Number(reply[1]), free: Number(reply[2]) };
  }
}
