/**
 * The Redis escrow store's Lua scripts: each store operation is one script, atomic on the server and
 * Redis Cluster-safe (a script touches only one SKU's keys, which share a hash tag). Semantics are the
 * memory store's. Per SKU:
 *   inv     hash: total, pool, sold, seq, gen, allocation
 *   leases  hash: region → {e: epoch, h: held, x: expiresAtMs, r: reserved, t: rate, w: want, i: received}
 *   sales   hash: saleId → {r: region, q: qty, a: atMs, u: user, p: position}
 *   buyers  hash: user → {b: bought, h: {holdId: [qty, expiresAtMs]}}
 *   refunds set of refunded sale ids
 * `nsales` and `nrefunds` count the entries of `sales` and `refunds`: fewer entries than counted is a key Redis lost
 * (an eviction) while keeping the item (journaled.ts). `seq` counts every unit sold in this generation and never goes down (refunds do not lower it): a
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
redis.call('HSET', KEYS[1], 'total', ARGV[1], 'pool', ARGV[1], 'sold', 0, 'seq', 0, 'nsales', 0, 'nrefunds', 0, 'gen', ARGV[3], 'allocation', ARGV[2])
return 'created'`;

// KEYS inv, leases, sales, buyers, refunds; ARGV total, sold, generation, allocation, then (user, bought) pairs.
// Replaces whatever Redis holds for the SKU with the journal's account: no leases, unsold units in the pool.
export const RESTORE = `
for i = 1, 5 do redis.call('DEL', KEYS[i]) end
local total, sold = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'total', total, 'pool', total - sold, 'sold', sold, 'seq', 0, 'nsales', 0, 'nrefunds', 0, 'gen', ARGV[3], 'allocation', ARGV[4])
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

// One script per SKU for everything the sale path sends in one turn of the event loop (redis.ts `batch`):
// the cap holds of new reservations and the sale batches of commits, in arrival order, in one round trip.
// KEYS inv, leases, sales, buyers; ARGV[1] a JSON array of operations:
//   [0, user, holdId, qty, cap, expiresAtMs, now]   a hold: counts a reservation against its buyer's cap
//       (reserved + bought ≤ cap; expired holds drop out; cap 0: none), seeing every earlier hold and sale;
//       answers [1], [0, held, bought], or [-1, error] when it failed alone (its buyer's record unreadable:
//       it wrote nothing, and the other operations stand);
//   [1, region, gen, epoch, now, cap, [[saleId, qty, user], ...]]   a lease's sale batch: each sale moves its
//       units held → sold under the fence, idempotently by id, bounded by the buyer's cap, and turns the
//       buyer's hold of that id into units bought; answers [outcomes, positions] (a duplicate reports its
//       recorded position), 0 for an unknown SKU, or [-1, error].
// Returns the answers as one JSON array: one JSON argument and one JSON reply for the lot, rather than
// a RESP argument per field (the Node client's per-argument encoding cost more than the script).
export const BATCH = `${LEASE}
local function hold(user, id, qty, cap, exp, now)
  local raw = redis.call('HGET', KEYS[4], user)
  local b = raw and cjson.decode(raw) or { b = 0, h = {} }
  local held, keep = 0, {}
  for hid, x in pairs(b.h) do
    if x[2] > now then held = held + x[1]; keep[hid] = x end
  end
  if cap > 0 and held + b.b + qty > cap then return { 0, held, b.b } end
  keep[id] = { qty, exp }
  b.h = keep
  redis.call('HSET', KEYS[4], user, cjson.encode(b))
  return { 1 }
end
local function sell(region, gen, epoch, now, cap, sales)
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local l = owned(KEYS[1], KEYS[2], region, gen, epoch)
  local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
  local out, pos, sold, n = {}, {}, 0, 0
  for _, s in ipairs(sales) do
    local id, qty, user = s[1], s[2], s[3]
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
        n = n + 1
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
    redis.call('HINCRBY', KEYS[1], 'nsales', n)
    redis.call('HSET', KEYS[1], 'seq', seq)
  end
  return { out, pos }
end
local answers = {}
for i, op in ipairs(cjson.decode(ARGV[1])) do
  local ok, r
  if op[1] == 0 then ok, r = pcall(hold, op[2], op[3], op[4], op[5], op[6], op[7])
  else ok, r = pcall(sell, op[2], op[3], op[4], op[5], op[6], op[7]) end
  answers[i] = ok and r or { -1, tostring(r) }
end
return cjson.encode(answers)`;

// KEYS inv, sales, buyers, refunds; ARGV saleId, qty, user (qty/user empty: take them from the sale record), and
// optionally the generation the journal recorded the refund under: Redis rebuilt since (another generation) already
// has the refund in its account, so it is not applied again ('stale-generation').
export const REFUND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
if ARGV[4] and ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'gen') ~= ARGV[4] then return 'stale-generation' end
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return 'already-refunded' end
local qty, user = tonumber(ARGV[2]), ARGV[3]
if not qty then
  local rec = redis.call('HGET', KEYS[2], ARGV[1])
  if not rec then return 'unknown' end
  local r = cjson.decode(rec)
  qty, user = r.q, r.u
end
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'nrefunds', 1)
redis.call('HINCRBY', KEYS[1], 'sold', -qty)
redis.call('HINCRBY', KEYS[1], 'pool', qty)
local raw = redis.call('HGET', KEYS[3], user)
if raw then
  local b = cjson.decode(raw)
  b.b = math.max(0, b.b - qty)
  redis.call('HSET', KEYS[3], user, cjson.encode(b))
end
return 'refunded'`;

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
