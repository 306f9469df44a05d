/**
 * The global allocator with its state in Redis instead of a server process: one Lua script runs
 * Doorman's GetCapacity (reclaim expired leases, record wants, entitlement by static / proportional /
 * max-min fair share, grant at most what other leases leave free) atomically, so any number of
 * regional limiters can share a resource through the Redis they already have. One call per region per
 * refresh interval — decisions themselves never touch Redis. Same semantics as allocator.ts (tested
 * side by side). Key: `<prefix>{<resource>}:leases`, a hash of client → "wants,has,expiresAt,predicted".
 *
 * With the resource's `forecast`, the share algorithm runs on each client's predicted wants (forecast.ts, the
 * in-process allocator's code path): the client's last asks live in `<prefix>{<resource>}:demand` (client →
 * "w1,w2,…", dropped with its lease), the forecast is computed here and the script records both. Two
 * concurrent asks of one client may lose one ask from its history; Σ has ≤ capacity is the script's, atomic.
 *
 * Time: `caller` (default) takes each call's `now`; `redis` takes Redis `TIME` in the script, so several
 * allocator replicas whose clocks differ still reclaim a lease at one instant (a replica whose clock ran
 * ahead would otherwise reclaim live leases early and grant them twice). Leases' expiresAt is then Redis time.
 */
import { Redis, type Cluster } from "ioredis";
import type { Lease, ResourceConfig } from "./allocator.js";
import { checkForecast, predictWants } from "./forecast.js";

const CODE = { static: 1, proportional: 2, fair: 3 } as const;

const GET_CAPACITY_LUA = `
local key, demand = KEYS[1], KEYS[2]
local now, me, wants = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if now < 0 then
  -- Redis TIME: every replica sharing the leases reclaims and expires them by one clock
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local capacity, alg, leaseMs, perClient = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local predicted, history = tonumber(ARGV[8]), ARGV[9]
local ids, w, h = {}, {}, {}
local raw = redis.call('HGETALL', key)
for i = 1, #raw, 2 do
  -- wants,has,expiresAt[,predicted]: the algorithm runs on predicted when the client has one
  local a, b, c, d = string.match(raw[i + 1], '([^,]+),([^,]+),([^,]+),?([^,]*)')
  if tonumber(c) <= now then redis.call('HDEL', key, raw[i]); redis.call('HDEL', demand, raw[i])
  elseif raw[i] ~= me then ids[#ids + 1] = raw[i]; w[#w + 1] = tonumber(d) or tonumber(a); h[#h + 1] = tonumber(b) end
end
ids[#ids + 1] = me; w[#w + 1] = predicted; h[#h + 1] = 0
local n = #ids
local share = {}
if alg == 1 then
  for i = 1, n do share[i] = math.min(w[i], perClient) end
elseif alg == 2 then
  local total = 0
  for i = 1, n do total = total + w[i] end
  if total <= capacity then for i = 1, n do share[i] = w[i] end else
    local equal, spare, excess = capacity / n, 0, 0
    for i = 1, n do if w[i] <= equal then spare = spare + equal - w[i] else excess = excess + w[i] - equal end end
    for i = 1, n do
      if w[i] <= equal then share[i] = w[i] else share[i] = equal + (excess > 0 and spare * (w[i] - equal) / excess or 0) end
    end
  end
else
  for i = 1, n do share[i] = 0 end
  local left = math.max(0, capacity)
  local open = {}
  for i = 1, n do if w[i] > 0 then open[#open + 1] = i end end
  while #open > 0 and left > 1e-12 do
    local each = left / #open
    local rest, sat = {}, false
    for _, i in ipairs(open) do
      if w[i] - share[i] <= each then left = left - (w[i] - share[i]); share[i] = w[i]; sat = true else rest[#rest + 1] = i end
    end
    if not sat then
      for _, i in ipairs(open) do share[i] = share[i] + each end
      left = 0
      rest = {}
    end
    open = rest
  end
end
local others = 0
for i = 1, n - 1 do others = others + h[i] end
local has = math.max(0, math.min(share[n], capacity - others))
local expires = now + leaseMs
redis.call('HSET', key, me, string.format('%.17g,%.17g,%.17g,%.17g', wants, has, expires, predicted))
redis.call('PEXPIRE', key, math.ceil(leaseMs * 2))
if history ~= '' then
  redis.call('HSET', demand, me, history)
  redis.call('PEXPIRE', demand, math.ceil(leaseMs * 2))
end
return { string.format('%.17g', has), string.format('%.17g', expires) }
`;

/** A live lease as the status page shows it. */
export interface ClientLease {
  client: string;
  wants: number;
  predicted?: number;
  has: number;
  expiresAt: number;
}

interface Scripted {
  mrlLease(leases: string, demand: string, ...args: (string | number)[]): Promise<string[]>;
}

export class RedisLeaseAllocator {
  readonly redis: Redis | Cluster;

  constructor(
    /**
     * A URL (this allocator opens and owns the connection) or a connection the caller configured: a Redis, or a
     * Cluster (a resource's two keys share its hash tag, so the script runs on the one node owning the slot).
     */
    redis: string | Redis | Cluster,
    private readonly prefix = "mrl:",
    private readonly time: "caller" | "redis" = "caller",
  ) {
    if (typeof redis === "string") {
      this.redis = new Redis(redis, { commandTimeout: 1000, maxRetriesPerRequest: 1 });
      this.redis.on("error", () => {});
    } else this.redis = redis;
    // EVALSHA, loading the script on the node that answers NOSCRIPT (each Cluster node has its own cache).
    this.redis.defineCommand("mrlLease", { numberOfKeys: 2, lua: GET_CAPACITY_LUA });
  }

  /** Redis TIME in ms. */
  private async redisNow(): Promise<number> {
    const [s, us] = await this.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  private keys(r: ResourceConfig): { leases: string; demand: string } {
    const tag = `${this.prefix}{${r.id.replace(/[{}]/g, "_")}}`;
    return { leases: `${tag}:leases`, demand: `${tag}:demand` };
  }

  async getCapacity(r: ResourceConfig, client: string, wants: number, now: number): Promise<Lease> {
    if (!(wants >= 0) || !Number.isFinite(wants)) throw new RangeError(`wants is ${wants}; expected a finite number ≥ 0`);
    checkForecast(r.id, r.forecast);
    const { leases, demand } = this.keys(r);
    let predicted = wants;
    let history = "";
    if (r.forecast) {
      // The liveness check below uses the script's clock.
      if (this.time === "redis") now = await this.redisNow();
      const [lease, past] = await this.redis
        .pipeline()
        .hget(leases, client)
        .hget(demand, client)
        .exec()
        .then((rs) =>
          (rs ?? []).map(([err, v]) => {
            if (err) throw err;
            return v as string | null;
          }),
        );
      // A client whose lease has expired starts afresh, as the in-process allocator reclaims it with its history.
      const alive = lease != null && Number(lease.split(",")[2]) > now;
      const asks = alive && past ? past.split(",").map(Number).filter(Number.isFinite) : [];
      predicted = predictWants(asks, wants, r.forecast);
      history = asks.join(",");
    }
    const args = [this.time === "redis" ? -1 : now, client, wants, r.capacity, CODE[r.algorithm], r.leaseMs, r.staticPerClient ?? r.capacity, predicted, history];
    const reply = await (this.redis as unknown as Scripted).mrlLease(leases, demand, ...args);
    return { resource: r.id, has: Number(reply[0]), expiresAt: Number(reply[1]), refreshMs: r.refreshMs, safeCapacity: r.safeCapacity ?? 0 };
  }

  /** Every live lease of the resource (expired ones are left for the next GetCapacity to reclaim). */
  async snapshot(r: ResourceConfig, now: number): Promise<ClientLease[]> {
    const raw = await this.redis.hgetall(this.keys(r).leases);
    const t = this.time === "redis" ? await this.redisNow() : now;
    const out: ClientLease[] = [];
    for (const [client, v] of Object.entries(raw)) {
      const [wants, has, expiresAt, predicted] = v.split(",").map(Number) as [number, number, number, number | undefined];
      if (expiresAt > t) out.push({ client, wants, ...(r.forecast && predicted !== undefined && Number.isFinite(predicted) ? { predicted } : {}), has, expiresAt });
    }
    return out.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  }

  async release(r: ResourceConfig, client: string): Promise<void> {
    const { leases, demand } = this.keys(r);
    await this.redis.pipeline().hdel(leases, client).hdel(demand, client).exec();
  }

  close(): void {
    this.redis.disconnect();
  }
}
