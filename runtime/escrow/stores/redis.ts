/**
 * Redis escrow store: the global pool and leases of each SKU in two hashes under one hash tag
 * (`mes:{sku}:inv`, `mes:{sku}:leases`, sales in `mes:{sku}:sales`), every operation one Lua script —
 * atomic on the server, and Redis Cluster-safe because a script only touches one SKU's slot.
 * Semantics are exactly the memory store's (the same behavioural suite runs on both).
 * A lease is the string "epoch|held|expiresAtMs|reserved".
 */
import { Redis } from "ioredis";
import type { AcquireRequest, AcquireResult, CreateOutcome, EscrowStore, InventoryAudit, SaleOutcome, SaleRecord, SaleRequest } from "../store.js";

const PARSE = `
local function parse(s)
  local e, h, x, r = string.match(s, '^(%d+)|(%d+)|(%d+)|(%d+)$')
  return { tonumber(e), tonumber(h), tonumber(x), tonumber(r) }
end
local function fmt(l) return string.format('%d|%d|%d|%d', l[1], l[2], l[3], l[4]) end
local function reclaim(inv, leases, now)
  local pool = tonumber(redis.call('HGET', inv, 'pool'))
  local got = 0
  local all = redis.call('HGETALL', leases)
  for i = 1, #all, 2 do
    local l = parse(all[i + 1])
    if l[3] < now and l[2] > 0 then
      got = got + l[2]
      l[2] = 0; l[4] = 0
      redis.call('HSET', leases, all[i], fmt(l))
    end
  end
  if got > 0 then redis.call('HSET', inv, 'pool', pool + got) end
  return got
end
`;

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'total') == ARGV[1] then return 'exists' end
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'pool', ARGV[1], 'sold', 0, 'allocation', ARGV[2])
return 'created'`;

const ACQUIRE = `${PARSE}
local inv, leases = KEYS[1], KEYS[2]
if redis.call('EXISTS', inv) == 0 then return false end
local region, want, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local fresh, reserved, epoch = ARGV[5] == '1', tonumber(ARGV[6]), tonumber(ARGV[7])
reclaim(inv, leases, now)
local pool = tonumber(redis.call('HGET', inv, 'pool'))
local raw = redis.call('HGET', leases, region)
local l = raw and parse(raw) or { 0, 0, 0, 0 }
local lost = 0
if fresh or l[3] < now or l[1] ~= epoch then
  if (not fresh) and l[1] ~= 0 then lost = 1 end
  l[1] = l[1] + 1
end
local g = math.max(0, math.min(want, pool))
pool = pool - g
l[2] = l[2] + g; l[3] = now + ttl; l[4] = reserved
redis.call('HSET', leases, region, fmt(l))
redis.call('HSET', inv, 'pool', pool)
local elsewhere, freeElsewhere = 0, 0
local all = redis.call('HGETALL', leases)
for i = 1, #all, 2 do
  if all[i] ~= region then
    local o = parse(all[i + 1])
    if o[3] >= now then
      elsewhere = elsewhere + o[2]
      freeElsewhere = freeElsewhere + math.max(0, o[2] - o[4])
    end
  end
end
return { l[1], l[2], l[3], l[4], g, pool, elsewhere, lost, freeElsewhere }`;

const RELEASE = `${PARSE}
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
local l = parse(raw)
if l[1] ~= tonumber(ARGV[2]) then return 0 end
local n = math.max(0, math.min(tonumber(ARGV[3]), l[2]))
l[2] = l[2] - n
redis.call('HSET', KEYS[2], ARGV[1], fmt(l))
redis.call('HINCRBY', KEYS[1], 'pool', n)
return n`;

// ARGV: region, epoch, now, then (saleId, qty) pairs. One outcome per sale.
const SALES = `${PARSE}
local region, epoch, now = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local raw = redis.call('HGET', KEYS[2], region)
local l = raw and parse(raw) or nil
local out, sold = {}, 0
for i = 4, #ARGV, 2 do
  local id, qty = ARGV[i], tonumber(ARGV[i + 1])
  if redis.call('HEXISTS', KEYS[3], id) == 1 then out[#out + 1] = 'duplicate'
  elseif l == nil or l[1] ~= epoch or l[2] < qty then out[#out + 1] = 'lease-lost'
  else
    l[2] = l[2] - qty
    sold = sold + qty
    redis.call('HSET', KEYS[3], id, region .. '|' .. qty .. '|' .. now)
    out[#out + 1] = 'sold'
  end
end
if sold > 0 then
  redis.call('HSET', KEYS[2], region, fmt(l))
  redis.call('HINCRBY', KEYS[1], 'sold', sold)
end
return out`;

const RECLAIM = `${PARSE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return reclaim(KEYS[1], KEYS[2], tonumber(ARGV[1]))`;

const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'pool', ARGV[2], 'sold', ARGV[3], 'allocation', ARGV[4])
return 1`;

const AUDIT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]) }`;

export interface RedisEscrowStoreOptions {
  url: string;
  /** Key prefix; must start with "mes:" (the escrow service's namespace). */
  prefix?: string;
}

export class RedisEscrowStore implements EscrowStore {
  readonly kind = "redis" as const;
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(o: RedisEscrowStoreOptions) {
    this.prefix = o.prefix ?? "mes:";
    if (!this.prefix.startsWith("mes:")) throw new Error(`prefix: got "${this.prefix}"; expected it to start with "mes:"`);
    this.redis = new Redis(o.url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.redis.defineCommand("escrowCreate", { numberOfKeys: 1, lua: CREATE });
    this.redis.defineCommand("escrowAcquire", { numberOfKeys: 2, lua: ACQUIRE });
    this.redis.defineCommand("escrowRelease", { numberOfKeys: 2, lua: RELEASE });
    this.redis.defineCommand("escrowSales", { numberOfKeys: 3, lua: SALES });
    this.redis.defineCommand("escrowReclaim", { numberOfKeys: 2, lua: RECLAIM });
    this.redis.defineCommand("escrowAudit", { numberOfKeys: 2, lua: AUDIT });
    this.redis.defineCommand("escrowRestore", { numberOfKeys: 1, lua: RESTORE });
  }

  private keys(sku: string): [string, string, string] {
    const tag = `${this.prefix}{${sku}}`;
    return [`${tag}:inv`, `${tag}:leases`, `${tag}:sales`];
  }

  private run<T>(command: string, ...args: (string | number)[]): Promise<T> {
    return (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[command]!(...args);
  }

  async createItem(sku: string, total: number, allocation: Record<string, number>): Promise<CreateOutcome> {
    return this.run<CreateOutcome>("escrowCreate", this.keys(sku)[0], total, JSON.stringify(allocation));
  }

  async acquire(q: AcquireRequest): Promise<AcquireResult | null> {
    const [inv, leases] = this.keys(q.sku);
    const r = await this.run<number[] | null>("escrowAcquire", inv, leases, q.region, q.want, Math.floor(q.nowMs), Math.ceil(q.leaseTtlMs), q.fresh ? 1 : 0, q.reserved, q.epoch ?? -1);
    if (!r) return null;
    const [epoch, held, expiresAtMs, reserved, granted, pool, heldElsewhere, lost, freeElsewhere] = r.map(Number) as [number, number, number, number, number, number, number, number, number];
    return { lease: { epoch, held, expiresAtMs, reserved }, granted, pool, heldElsewhere, freeElsewhere, lost: lost === 1 };
  }

  async release(sku: string, region: string, epoch: number, qty: number): Promise<number> {
    const [inv, leases] = this.keys(sku);
    return Number(await this.run<number>("escrowRelease", inv, leases, region, epoch, qty));
  }

  async recordSales(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], nowMs: number): Promise<SaleOutcome[]> {
    if (sales.length === 0) return [];
    const args: (string | number)[] = [region, epoch, Math.floor(nowMs)];
    for (const s of sales) args.push(s.saleId, s.qty);
    return this.run<SaleOutcome[]>("escrowSales", ...this.keys(sku), ...args);
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    const raw = await this.redis.hget(this.keys(sku)[2], saleId);
    if (raw === null) return null;
    const [region, qty, at] = raw.split("|");
    return { saleId, sku, region: region!, qty: Number(qty), atMs: Number(at) };
  }

  /** Recreate a lost item from a durable record (no leases: every unsold unit is back in the pool). */
  async restore(sku: string, total: number, pool: number, sold: number, allocation: Record<string, number>): Promise<boolean> {
    return Number(await this.run<number>("escrowRestore", this.keys(sku)[0], total, pool, sold, JSON.stringify(allocation))) === 1;
  }

  async saleCount(sku: string): Promise<number> {
    return this.redis.hlen(this.keys(sku)[2]);
  }

  /** Every sale Redis holds for the SKU. */
  async sales(sku: string): Promise<SaleRecord[]> {
    const all = await this.redis.hgetall(this.keys(sku)[2]);
    return Object.entries(all).map(([saleId, raw]) => {
      const [region, qty, at] = raw.split("|");
      return { saleId, sku, region: region!, qty: Number(qty), atMs: Number(at) };
    });
  }

  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    const [inv, leases] = this.keys(sku);
    return Number(await this.run<number>("escrowReclaim", inv, leases, Math.floor(nowMs)));
  }

  async audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    const [inv, leases] = this.keys(sku);
    const r = await this.run<[string[], string[]] | null>("escrowAudit", inv, leases);
    if (!r) return null;
    const h = pairs(r[0]);
    const out: InventoryAudit = { sku, total: Number(h["total"]), pool: Number(h["pool"]), sold: Number(h["sold"]), leases: {}, allocation: JSON.parse(h["allocation"] ?? "{}") as Record<string, number> };
    for (const [region, raw] of Object.entries(pairs(r[1]))) {
      const [epoch, held, expiresAtMs, reserved] = raw.split("|").map(Number) as [number, number, number, number];
      out.leases[region] = { epoch, held, expiresAtMs, reserved, live: expiresAtMs >= nowMs };
    }
    return out;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function pairs(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
