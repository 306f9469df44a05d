/**
 * The Lua scripts behind the Redis store: DECIDE_LUA decides a batch of requests in one atomic call
 * with exactly the semantics of core/request.ts and the algorithm cores (core/*.ts) — the store suite
 * replays both side by side. Time is Redis `TIME` unless the caller passes one (tests), and never runs
 * backwards for a counter (each state carries its own time), so replicas with skewed clocks and
 * requests that waited in a queue still charge the window that is current at Redis.
 *
 * DECIDE ARGV: now (−1 → TIME), then the batch's distinct request shapes — shape count, then per shape:
 * policy (0 independent, 1 atomic), check count; per check: cost, quota (0/1), level count; per level:
 * KEYS index, algorithm code, limit, periodMs, burst (−1 default), debt, enforce (0/1) — then the
 * requests in arrival order as runs: run count, then per run: shape index (1-based), repeat count.
 * Requests with the same shape (the same counters, limits and costs: a hot key) are sent once and
 * decided `count` times, one after another, as separate requests. Each written counter is SET once at
 * the end of the call with its final state and the TTL its last write set (the script is atomic, so no
 * one can observe the states in between). Reply (integers, ms rounded up): per request, per check
 * charged (0/1), then per level allowed, remaining, retryAfterMs, resetAfterMs, the time it was
 * decided at (for refunds).
 *
 * Under the independent policy a fixed-window level that rejects still counts its hits, as
 * envoyproxy/ratelimit's INCRBY does.
 *
 * REFUND undoes charges that were kept by one call but must not stand (an atomic request whose checks
 * live in several Cluster slots): ARGV per KEY: algorithm code, limit, periodMs, burst, cost, at. It
 * only ever lowers what the named window holds, so a refund arriving late can never grant capacity in
 * a later window.
 */
export const ALGORITHM_CODE = { gcra: 1, "token-bucket": 2, "fixed-window": 3, "sliding-log": 4, "sliding-window": 5 } as const;

const COMMON = `
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local function fmt(x)
  if x == floor(x) and x > -9e15 and x < 9e15 then return string.format('%d', x) end
  return string.format('%.17g', x)
end
local function parse(raw)
  local s = {}
  for v in string.gmatch(raw, '[^,]+') do s[#s + 1] = tonumber(v) end
  return s
end
local function encode(st)
  local parts = {}
  for j = 1, #st do parts[j] = fmt(st[j]) end
  return table.concat(parts, ',')
end
`;

export const DECIDE_LUA = `${COMMON}
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
end
local cache = {}
local function get(key)
  local s = cache[key]
  if s == nil then
    local raw = redis.call('GET', key)
    if raw then s = parse(raw) else s = false end
    cache[key] = s
  end
  return s or nil
end

-- returns allowed, remaining, retry, reset, next state (or nil), ttl, time decided at, limit reported,
-- and for a fixed window that rejects, the state that counts the rejected hits (envoyproxy/ratelimit INCRBY)
local function step(alg, limit, period, burst, debt, st, cost, at)
  if alg == 1 then
    local mb = burst >= 0 and burst or max(0, limit - 1)
    local T = period / limit
    local tol = T * (mb + 1)
    local inc = T * cost
    local tat = st and st[1] or at
    local newTat = max(tat, at) + inc
    local diff = at - (newTat - tol)
    local ok, retry, ttl, nxt = true, 0, 0, nil
    if diff < 0 then
      ok = false
      ttl = max(0, tat - at)
      retry = inc > tol and -1 or -diff
    else
      ttl = newTat - at
      if cost > 0 then nxt = { newTat } end
    end
    local n = tol - ttl
    local rem = n > -T and max(0, floor(n / T + 1e-9)) or 0
    return ok, rem, retry, ttl, nxt, ttl, at, mb + 1
  elseif alg == 2 then
    local t = (st and st[2] > at) and st[2] or at
    local cap = burst >= 0 and burst or limit
    local rate = limit / period
    local last = st and st[2] or t
    local tokens = min(cap, (st and st[1] or cap) + max(0, t - last) * rate)
    local ok = cost <= tokens or (tokens > 0 and tokens - cost >= -debt)
    local after = ok and tokens - cost or tokens
    local reset = (cap - after) / rate
    local rem = max(0, floor(after + 1e-9))
    local retry, nxt = 0, nil
    if ok then
      if cost > 0 then nxt = { after, t } end
    else
      retry = -1
      if cost <= cap + debt then
        local plain = cost <= cap and (cost - tokens) / rate or math.huge
        local borrow = (max(2.220446049250313e-16, cost - debt) - tokens) / rate
        retry = max(0, min(plain, borrow))
      end
    end
    return ok, rem, retry, reset, nxt, reset, t, cap
  elseif alg == 3 then
    local t = (st and st[1] > at) and st[1] or at
    local start = floor(t / period) * period
    local count = (st and st[1] == start) and st[2] or 0
    local finish = start + period
    local ok = count + cost <= limit
    local after = ok and count + cost or count
    local retry = ok and 0 or (cost > limit and -1 or finish - t)
    local nxt, ovr = nil, nil
    if ok and cost > 0 then nxt = { start, after } end
    if not ok then ovr = { start, count + cost } end
    return ok, max(0, floor(limit - after)), retry, after == 0 and 0 or finish - t, nxt, finish - t, t, limit, ovr
  elseif alg == 4 then
    local newest = (st and #st > 0) and st[#st] or at
    local t = newest > at and newest or at
    local horizon = t - period
    local log = {}
    if st then for j = 1, #st do if st[j] > horizon then log[#log + 1] = st[j] end end end
    local ok = #log + cost <= limit
    local kept = log
    local nxt = nil
    if ok and cost > 0 then
      nxt = {}
      for j = 1, #log do nxt[j] = log[j] end
      for _ = 1, cost do nxt[#nxt + 1] = t end
      kept = nxt
    end
    local retry = 0
    if not ok then
      if cost > limit then retry = -1 else
        local oldest = log[#log + cost - limit] or t
        retry = max(0, oldest + period - t)
      end
    end
    local last = kept[#kept]
    local reset = last and (last + period - t) or 0
    return ok, max(0, limit - #kept), retry, reset, nxt, reset, t, limit
  else
    local t = (st and st[1] > at) and st[1] or at
    local P = period
    local start = floor(t / P) * P
    local cur, prev = 0, 0
    if st and st[1] == start then cur, prev = st[2], st[3]
    elseif st and st[1] == start - P then prev = st[2] end
    local weight = (P - (t - start)) / P
    local est = prev * weight + cur
    local ok = est + cost <= limit + 1e-9
    local after = ok and cur + cost or cur
    local retry = 0
    if not ok then
      local finish = start + P
      local excess = est + cost - limit
      if cost > limit then retry = -1
      elseif prev > 0 and cur + cost <= limit and excess * P / prev < finish - t then retry = excess * P / prev
      else retry = finish - t + (cur > 0 and max(0, (cur + cost - limit) / cur * P) or 0) end
    end
    local reset = after > 0 and (start + 2 * P - t) or (prev > 0 and (start + P - t) or 0)
    local nxt = nil
    if ok and cost > 0 then nxt = { start, after, prev } end
    return ok, max(0, floor(limit - (prev * weight + after) + 1e-9)), retry, reset, nxt, start + 2 * P - t, t, limit
  end
end

local function up(x) if x > 0 then return ceil(x - 1e-9) end return x end

local out = {}
local i = 2
-- Shapes: parsed once, numbers converted once.
local shapes = {}
for sh = 1, tonumber(ARGV[i]) do
  i = i + 1
  local policy, nchecks = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  i = i + 1
  local cks = {}
  for c = 1, nchecks do
    local cost, quota, nlevels = tonumber(ARGV[i + 1]), ARGV[i + 2] == '1', tonumber(ARGV[i + 3])
    i = i + 3
    local lvs = {}
    for l = 1, nlevels do
      lvs[l] = { KEYS[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6]), ARGV[i + 7] == '1' }
      i = i + 7
    end
    cks[c] = { cost, quota, lvs }
  end
  shapes[sh] = { policy, cks }
end
i = i + 1
local dirty = {}

local function decide(policy, cks)
  local nchecks = #cks
  local pend = {}
  local checks = {}
  local quotas, quotaRejected, rejected = 0, 0, false
  for c = 1, nchecks do
    local cost, quota, lvs = cks[c][1], cks[c][2], cks[c][3]
    local nlevels = #lvs
    local lv = {}
    local ok = true
    for l = 1, nlevels do
      local d = lvs[l]
      local key = d[1]
      local p = pend[key]
      local st
      if p then st = p[1] else st = get(key) end
      local a, rem, retry, reset, nxt, ttl, at, cap, ovr = step(d[2], d[3], d[4], d[5], d[6], st, cost, now)
      lv[l] = { key, a, rem, retry, reset, at, cap, nxt, ttl, ovr }
      if d[7] and not a then ok = false end
    end
    for l = 1, nlevels do
      local x = lv[l]
      if ok and x[8] then pend[x[1]] = { x[8], x[9] }
      elseif policy == 0 and not x[2] and cost > 0 and x[10] then
        pend[x[1]] = { x[10], x[9] }
        x[3] = 0
      end
    end
    if quota then
      quotas = quotas + 1
      if not ok then quotaRejected = quotaRejected + 1 end
    elseif not ok then rejected = true end
    checks[c] = { cost, ok, lv }
  end
  local keep = policy == 0 or not (rejected or (quotas > 0 and quotaRejected == quotas))
  if keep then
    for key, p in pairs(pend) do
      cache[key] = p[1]
      dirty[key] = p[2]
    end
  end
  for c = 1, nchecks do
    local cost, ok, lv = checks[c][1], checks[c][2], checks[c][3]
    local charged = ok and keep
    out[#out + 1] = charged and 1 or 0
    for l = 1, #lv do
      local x = lv[l]
      local rem = x[3]
      if x[2] and cost > 0 and not charged then rem = min(x[7], rem + cost) end
      out[#out + 1] = x[2] and 1 or 0
      out[#out + 1] = rem
      out[#out + 1] = up(x[4])
      out[#out + 1] = up(x[5])
      out[#out + 1] = floor(x[6])
    end
  end
end

for _ = 1, tonumber(ARGV[i]) do
  local shape, count = shapes[tonumber(ARGV[i + 1])], tonumber(ARGV[i + 2])
  i = i + 2
  for _ = 1, count do decide(shape[1], shape[2]) end
end
for key, ttl in pairs(dirty) do
  redis.call('SET', key, encode(cache[key]), 'PX', max(1, ceil(ttl)))
end
return out
`;

export const REFUND_LUA = `${COMMON}
for k = 1, #KEYS do
  local b = (k - 1) * 6
  local alg, limit, period = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local burst, cost, at = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
  local raw = redis.call('GET', KEYS[k])
  if raw then
    local st = parse(raw)
    local changed = true
    local start = floor(at / period) * period
    if alg == 1 then st[1] = st[1] - period / limit * cost
    elseif alg == 2 then st[1] = min(burst >= 0 and burst or limit, st[1] + cost)
    elseif alg == 3 then
      if st[1] == start then st[2] = max(0, st[2] - cost) else changed = false end
    elseif alg == 4 then
      local left, kept = cost, {}
      for j = #st, 1, -1 do
        if left > 0 and st[j] == at then left = left - 1 else table.insert(kept, 1, st[j]) end
      end
      changed = left < cost
      st = kept
    else
      if st[1] == start then st[2] = max(0, st[2] - cost)
      elseif st[1] == start + period then st[3] = max(0, st[3] - cost)
      else changed = false end
    end
    if changed then
      if #st == 0 then redis.call('DEL', KEYS[k]) else redis.call('SET', KEYS[k], encode(st), 'KEEPTTL') end
    end
  end
end
return #KEYS
`;
