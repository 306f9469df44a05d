/**
 * The one Lua script that decides a whole hierarchy in Redis, atomically: phase 1 steps every level
 * against its stored state (the same arithmetic as core/*.ts), phase 2 writes only if every level
 * admitted — so a rejection consumes nothing anywhere. KEYS: one per level (all sharing one hash tag,
 * hence one Cluster slot). ARGV: now, cost, nonce, then per level: algorithm code, limit, periodMs,
 * burst (−1 = default), debt. Reply: per level [allowed, limit, remaining, retryAfterMs, resetAfterMs]
 * as strings (Lua numbers would be truncated to integers on the way out).
 */
export const ALGORITHM_CODE = { gcra: 1, "token-bucket": 2, "fixed-window": 3, "sliding-log": 4, "sliding-window": 5 } as const;

export const DECIDE_LUA = `
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local nonce = ARGV[3]
local n = #KEYS
local function fmt(x) return string.format('%.17g', x) end
local function floor(x) return math.floor(x + 1e-9) end
local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  local s = {}
  for v in string.gmatch(raw, '[^,]+') do s[#s + 1] = tonumber(v) end
  return s
end

local steps = {}
for i = 1, n do
  local b = 3 + (i - 1) * 5
  local alg, limit, period = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local burst, debt = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local key = KEYS[i]
  local r = { key = key, alg = alg }
  if alg == 1 then
    local maxBurst = burst >= 0 and burst or math.max(0, limit - 1)
    local emission = period / limit
    local tol = emission * (maxBurst + 1)
    local inc = emission * cost
    local st = load(key)
    local tat = st and st[1] or now
    local newTat = math.max(tat, now) + inc
    local diff = now - (newTat - tol)
    local ttl
    r.limit = maxBurst + 1
    if diff < 0 then
      ttl = math.max(0, tat - now)
      r.allowed = 0
      r.retry = inc > tol and -1 or -diff
    else
      ttl = newTat - now
      r.allowed = 1
      r.retry = 0
      if cost > 0 then r.state = fmt(newTat) end
    end
    local nxt = tol - ttl
    r.remaining = nxt > -emission and math.max(0, floor(nxt / emission)) or 0
    r.reset = ttl
    r.ttl = ttl
  elseif alg == 2 then
    local cap = burst >= 0 and burst or limit
    local rate = limit / period
    local st = load(key)
    local last = st and st[2] or now
    local tokens = math.min(cap, (st and st[1] or cap) + math.max(0, now - last) * rate)
    local ok = cost <= tokens or (tokens > 0 and tokens - cost >= -debt)
    local after = ok and tokens - cost or tokens
    r.limit = cap
    r.remaining = math.max(0, floor(after))
    r.reset = (cap - after) / rate
    r.ttl = r.reset
    if ok then
      r.allowed = 1
      r.retry = 0
      if cost > 0 then r.state = fmt(after) .. ',' .. fmt(now) end
    else
      r.allowed = 0
      r.retry = -1
      if cost <= cap + debt then
        local plain = cost <= cap and (cost - tokens) / rate or math.huge
        local borrow = (math.max(2.220446049250313e-16, cost - debt) - tokens) / rate
        r.retry = math.max(0, math.min(plain, borrow))
      end
    end
  elseif alg == 3 then
    local start = math.floor(now / period) * period
    local st = load(key)
    local count = (st and st[1] == start) and st[2] or 0
    local finish = start + period
    local ok = count + cost <= limit
    local after = ok and count + cost or count
    r.allowed = ok and 1 or 0
    r.limit = limit
    r.remaining = math.max(0, math.floor(limit - after))
    r.retry = ok and 0 or (cost > limit and -1 or finish - now)
    r.reset = after == 0 and 0 or finish - now
    r.ttl = finish - now
    if ok and cost > 0 then r.state = fmt(start) .. ',' .. fmt(after) end
  elseif alg == 4 then
    local horizon = now - period
    local count = redis.call('ZCOUNT', key, '(' .. fmt(horizon), '+inf')
    local ok = count + cost <= limit
    r.allowed = ok and 1 or 0
    r.limit = limit
    r.log = ok and cost > 0
    r.horizon = horizon
    local kept = ok and count + cost or count
    r.remaining = math.max(0, limit - kept)
    r.retry = 0
    if not ok then
      if cost > limit then r.retry = -1 else
        local idx = count + cost - limit - 1
        local e = redis.call('ZRANGEBYSCORE', key, '(' .. fmt(horizon), '+inf', 'WITHSCORES', 'LIMIT', idx, 1)
        local oldest = e[2] and tonumber(e[2]) or now
        r.retry = math.max(0, oldest + period - now)
      end
    end
    local newest = now
    if not r.log then
      local e = redis.call('ZRANGEBYSCORE', key, '(' .. fmt(horizon), '+inf', 'WITHSCORES')
      newest = e[#e] and tonumber(e[#e]) or nil
    end
    r.reset = newest and (newest + period - now) or 0
    r.ttl = r.reset
  else
    local start = math.floor(now / period) * period
    local st = load(key)
    local cur, prev = 0, 0
    if st and st[1] == start then cur, prev = st[2], st[3]
    elseif st and st[1] == start - period then prev = st[2] end
    local weight = (period - (now - start)) / period
    local est = prev * weight + cur
    local ok = est + cost <= limit + 1e-9
    local after = ok and cur + cost or cur
    r.allowed = ok and 1 or 0
    r.limit = limit
    r.remaining = math.max(0, floor(limit - (prev * weight + after)))
    r.retry = 0
    if not ok then
      local finish = start + period
      local excess = est + cost - limit
      if cost > limit then r.retry = -1
      elseif prev > 0 and cur + cost <= limit and excess * period / prev < finish - now then r.retry = excess * period / prev
      else r.retry = finish - now + (cur > 0 and math.max(0, (cur + cost - limit) / cur * period) or 0) end
    end
    r.reset = after > 0 and (start + 2 * period - now) or (prev > 0 and (start + period - now) or 0)
    r.ttl = start + 2 * period - now
    if ok and cost > 0 then r.state = fmt(start) .. ',' .. fmt(after) .. ',' .. fmt(prev) end
  end
  steps[i] = r
end

local all = true
for i = 1, n do if steps[i].allowed == 0 then all = false end end
local out = {}
for i = 1, n do
  local r = steps[i]
  local ttl = math.max(1, math.ceil(r.ttl))
  if all then
    if r.state then redis.call('SET', r.key, r.state, 'PX', ttl) end
    if r.log then
      redis.call('ZREMRANGEBYSCORE', r.key, '-inf', fmt(r.horizon))
      for u = 1, cost do redis.call('ZADD', r.key, now, nonce .. ':' .. u) end
      redis.call('PEXPIRE', r.key, ttl)
    end
  end
  out[#out + 1] = tostring(r.allowed)
  out[#out + 1] = fmt(r.limit)
  out[#out + 1] = fmt(r.remaining)
  out[#out + 1] = fmt(r.retry)
  out[#out + 1] = fmt(r.reset)
end
return out
`;

/**
 * The single-level GCRA decision (redis-cell's CL.THROTTLE, the most common call) as its own short
 * script: same arithmetic as the GCRA branch above, without the hierarchy machinery.
 * KEYS[1]; ARGV: now, cost, limit, periodMs, maxBurst. Reply: [allowed, limit, remaining, retry, reset].
 */
export const GCRA_LUA = `
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local emission = tonumber(ARGV[4]) / tonumber(ARGV[3])
local maxBurst = tonumber(ARGV[5])
local tol = emission * (maxBurst + 1)
local inc = emission * cost
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local newTat = math.max(tat, now) + inc
local diff = now - (newTat - tol)
local ttl, allowed, retry
if diff < 0 then
  ttl = math.max(0, tat - now)
  allowed = 0
  retry = inc > tol and -1 or -diff
else
  ttl = newTat - now
  allowed = 1
  retry = 0
  if cost > 0 then redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.max(1, math.ceil(ttl))) end
end
local nxt = tol - ttl
local remaining = 0
if nxt > -emission then remaining = math.max(0, math.floor(nxt / emission + 1e-9)) end
return { allowed, string.format('%.17g', maxBurst + 1), remaining, string.format('%.17g', retry), string.format('%.17g', ttl) }
`;
