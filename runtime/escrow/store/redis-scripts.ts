/**
 * The Redis escrow store's Lua scripts: each store operation is one script, atomic on the server and
 * Redis Cluster-safe (a script touches only one SKU's keys, which share a hash tag). Semantics are the
 * memory store's. Per SKU:
 *   inv     hash: total, pool, sold, seq, gen, allocation
 *   leases  hash: region → {e: epoch, h: held, x: expiresAtMs, r: reserved, t: rate, w: want, i: received}
 *   sales   hash: saleId → {r: region, q: qty, a: atMs, u: user, p: position}
 *   buyers  hash: user → {b: bought, h: {holdId: [qty, expiresAtMs]}}
 *   refunds set of refunded sale ids
 * `seq` counts every unit sold in this generation and never goes down (refunds do not lower it): a
 * sale occupies positions (p − q, p]. The PostgreSQL journal keeps those positions, so a Redis that was
 * rolled back and sells the same positions again is caught on the first journal write (journaled.ts).
 */

const LEASE = `
local function dec(s) if s then return cjson.decode(s) end return nil end
local function enc(t) return cjson.encode(t) end
local function owned(inv, leases, region, gen, epoch)
  if redis.call('HGET', inv, 'gen') ~= gen then return nil end
  local l = dec(redis.call('HGET', leases, region))
  if l and l.e == epoch then return l end
  return nil
end
local function reclaim(inv, leases, now)
  local got = 0
  local all = redis.call('HGETALL', leases)
  for i = 1, #all, 2 do
    local l = cjson.decode(all[i + 1])
    if l.x < now and l.h > 0 then
      got = got + l.h
      l.h = 0; l.r = 0
      redis.call('HSET', leases, all[i], enc(l))
    end
  end
  if got > 0 then redis.call('HINCRBY', inv, 'pool', got) end
  return got
end
`;

// KEYS inv; ARGV total, allocation JSON, generation.
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'total') == ARGV[1] then return 'exists' end
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'pool', ARGV[1], 'sold', 0, 'seq', 0, 'gen', ARGV[3], 'allocation', ARGV[2])
return 'created'`;

// KEYS inv, leases, sales, buyers, refunds; ARGV total, sold, generation, allocation, then (user, bought) pairs.
// Replaces whatever Redis holds for the SKU with the journal's account: no leases, unsold units in the pool.
export const RESTORE = `
for i = 1, 5 do redis.call('DEL', KEYS[i]) end
local total, sold = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'total', total, 'pool', total - sold, 'sold', sold, 'seq', 0, 'gen', ARGV[3], 'allocation', ARGV[4])
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[4], ARGV[i], cjson.encode({ b = tonumber(ARGV[i + 1]), h = {} }))
end
return 1`;

// KEYS inv, leases; ARGV region, want, now, ttl, fresh, reserved, rate, borrow, gen, epoch.
export const ACQUIRE = `${LEASE}
local inv, leases = KEYS[1], KEYS[2]
if redis.call('EXISTS', inv) == 0 then return false end
local region, want, now, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
reclaim(inv, leases, now)
local g = redis.call('HGET', inv, 'gen')
local l = dec(redis.call('HGET', leases, region)) or { e = 0, h = 0, x = 0, r = 0, t = 0, w = 0, i = 0 }
local mine = l.e == tonumber(ARGV[10]) and g == ARGV[9]
local lost, fenced = 0, 0
if ARGV[5] == '1' then l.e = l.e + 1
elseif not mine then
  lost = 1
  if l.x >= now and l.e ~= 0 then fenced = 1 else l.e = l.e + 1 end
elseif l.x < now then lost = 1; l.e = l.e + 1 end
local pool = tonumber(redis.call('HGET', inv, 'pool'))
local granted = 0
if fenced == 0 then
  granted = math.max(0, math.min(want, pool))
  pool = pool - granted
  l.h = l.h + granted; l.x = now + ttl; l.r = tonumber(ARGV[6]); l.t = tonumber(ARGV[7]); l.w = tonumber(ARGV[8])
  redis.call('HSET', leases, region, enc(l))
  if granted > 0 then redis.call('HSET', inv, 'pool', pool) end
end
return { g, enc(l), granted, pool, lost, fenced, redis.call('HGETALL', leases), redis.call('HGET', inv, 'total'), redis.call('HGET', inv, 'sold') }`;

// KEYS inv, leases; ARGV region, gen, epoch, qty.
export const RELEASE = `${LEASE}
local l = owned(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]))
if not l then return 0 end
local n = math.max(0, math.min(tonumber(ARGV[4]), l.h))
l.h = l.h - n
redis.call('HSET', KEYS[2], ARGV[1], enc(l))
redis.call('HINCRBY', KEYS[1], 'pool', n)
return n`;

// KEYS inv, leases; ARGV from, gen, epoch, to, qty, now.
export const TRANSFER = `${LEASE}
if ARGV[1] == ARGV[4] then return 0 end
local src = owned(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]))
local dst = dec(redis.call('HGET', KEYS[2], ARGV[4]))
if not src or not dst or dst.x < tonumber(ARGV[6]) then return 0 end
local n = math.max(0, math.min(tonumber(ARGV[5]), src.h))
src.h = src.h - n
dst.h = dst.h + n
dst.i = (dst.i or 0) + n
redis.call('HSET', KEYS[2], ARGV[1], enc(src))
redis.call('HSET', KEYS[2], ARGV[4], enc(dst))
return n`;

// KEYS inv, leases, sales, buyers; ARGV region, gen, epoch, now, cap, then (saleId, qty, user) triples.
// Returns false for an unknown SKU, else { outcomes, positions } (a duplicate reports its recorded position).
export const SALES = `${LEASE}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local region, now, cap = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5])
local l = owned(KEYS[1], KEYS[2], region, ARGV[2], tonumber(ARGV[3]))
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local out, pos, sold = {}, {}, 0
for i = 6, #ARGV, 3 do
  local id, qty, user = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local rec = redis.call('HGET', KEYS[3], id)
  if rec then
    out[#out + 1] = 'duplicate'; pos[#pos + 1] = cjson.decode(rec).p
  elseif not l or l.h < qty then
    out[#out + 1] = 'lease-lost'; pos[#pos + 1] = 0
  else
    local b = dec(redis.call('HGET', KEYS[4], user)) or { b = 0, h = {} }
    if cap > 0 and b.b + qty > cap then
      out[#out + 1] = 'over-cap'; pos[#pos + 1] = 0
    else
      l.h = l.h - qty
      sold = sold + qty
      seq = seq + qty
      b.h[id] = nil
      b.b = b.b + qty
      redis.call('HSET', KEYS[4], user, cjson.encode(b))
      redis.call('HSET', KEYS[3], id, cjson.encode({ r = region, q = qty, a = now, u = user, p = seq }))
      out[#out + 1] = 'sold'; pos[#pos + 1] = seq
    end
  end
end
if sold > 0 then
  redis.call('HSET', KEYS[2], region, enc(l))
  redis.call('HINCRBY', KEYS[1], 'sold', sold)
  redis.call('HSET', KEYS[1], 'seq', seq)
end
return { out, pos }`;

// KEYS inv, sales, buyers, refunds; ARGV saleId, qty, user (qty/user empty: take them from the sale record).
export const REFUND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return 'already-refunded' end
local qty, user = tonumber(ARGV[2]), ARGV[3]
if not qty then
  local rec = redis.call('HGET', KEYS[2], ARGV[1])
  if not rec then return 'unknown' end
  local r = cjson.decode(rec)
  qty, user = r.q, r.u
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'sold', -qty)
redis.call('HINCRBY', KEYS[1], 'pool', qty)
local raw = redis.call('HGET', KEYS[3], user)
if raw then
  local b = cjson.decode(raw)
  b.b = math.max(0, b.b - qty)
  redis.call('HSET', KEYS[3], user, cjson.encode(b))
end
return 'refunded'`;

// KEYS buyers; ARGV n, then n × (user, holdId, qty, cap, expiresAtMs, now). Each hold counts a reservation
// against its buyer's cap (reserved + bought ≤ cap; expired holds drop out; cap 0: none), in
// order (a later hold of the same buyer sees the earlier ones), one script for holds that arrived together
// (RedisEscrowStore.hold's group commit). Returns one reply per hold: { 1 }, { 0, held, bought }, or
// { -1, error } for a hold that failed alone (its buyer's record unreadable) — it wrote nothing, and the
// other holds stand.
export const HOLDS = `
local function hold(user, id, qty, cap, exp, now)
  local raw = redis.call('HGET', KEYS[1], user)
  local b = raw and cjson.decode(raw) or { b = 0, h = {} }
  local held, keep = 0, {}
  for hid, x in pairs(b.h) do
    if x[2] > now then held = held + x[1]; keep[hid] = x end
  end
  if cap > 0 and held + b.b + qty > cap then return { 0, held, b.b } end
  keep[id] = { qty, exp }
  b.h = keep
  redis.call('HSET', KEYS[1], user, cjson.encode(b))
  return { 1 }
end
local out = {}
for i = 0, tonumber(ARGV[1]) - 1 do
  local a = 1 + i * 6
  local ok, r = pcall(hold, ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]))
  out[i + 1] = ok and r or { -1, tostring(r) }
end
return out`;

// KEYS buyers; ARGV user, holdId.
export const RELEASE_HOLD = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local b = cjson.decode(raw)
if b.h[ARGV[2]] == nil then return 0 end
b.h[ARGV[2]] = nil
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(b))
return 1`;

// KEYS inv, leases; ARGV now.
export const RECLAIM = `${LEASE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return reclaim(KEYS[1], KEYS[2], tonumber(ARGV[1]))`;

// KEYS inv, leases.
export const AUDIT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return { redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]) }`;
