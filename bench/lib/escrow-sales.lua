-- wrk script for bench/lib/escrow-http.ts: one connection per wrk thread (-t N -c N), each a buyer loop:
-- POST a reservation, then POST its commit with the id from the reservation's answer, as the buyers in turn
-- (thread w uses tokens w, w + N, w + 2N, …), the same sales every server gets. Per-thread Lua state is the
-- connection's state: with one connection and no pipelining, a response answers the last request sent.
-- args: <tokens file, one per line> <sku> <region> <window start, epoch ms> <window end, epoch ms> <threads>
-- Sales whose commit is answered inside [start, end) count; after end each thread stops once its connection
-- is idle (never between a reservation and its commit, never with a request in flight), so every commit sent
-- is answered and counted as acknowledged. done() prints one line: SALES {json} (counts, and request latency p50/p99).
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } escrow_timespec;
int clock_gettime(int clk, escrow_timespec *ts);
]])
local ts = ffi.new("escrow_timespec")
local function now_ms()
  ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME, the clock Date.now() reads in the bench
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local reserves, commit_prefix, commit_suffix = {}, {}, {}
local k, pending, from, till
-- Counted by done(): commits answered 200 (all, and inside the window), and refusals per status.
acked, counted, refused = 0, 0, {}

function init(args)
  local tokens = {}
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  local sku, region = args[2], args[3]
  from, till = tonumber(args[4]), tonumber(args[5])
  local n = tonumber(args[6])
  local host = wrk.host .. ":" .. wrk.port
  -- This thread's buyers, their requests built once: a reservation whole, a commit around its id.
  for t = id + 1, #tokens, n do
    local auth = "Authorization: Bearer " .. tokens[t] .. "\r\n"
    local common = "Host: " .. host .. "\r\n" .. auth .. "x-region: " .. region .. "\r\n"
    local body = '{"qty":1}'
    reserves[#reserves + 1] = "POST /v1/inventory/" .. sku .. "/reservations HTTP/1.1\r\n" .. common
      .. "Content-Type: application/json\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
    commit_prefix[#commit_prefix + 1] = "POST /v1/reservations/"
    commit_suffix[#commit_suffix + 1] = "/commit HTTP/1.1\r\n" .. common .. "Content-Length: 0\r\n\r\n"
  end
  k = 1
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function request()
  if pending then return commit_prefix[k] .. escape(pending) .. commit_suffix[k] end
  return reserves[k]
end

local function refuse(status)
  refused[status] = (refused[status] or 0) + 1
end

local function next_buyer()
  pending = nil
  k = k % #reserves + 1
  if now_ms() >= till then wrk.thread:stop() end
end

function response(status, headers, body)
  if pending == nil then
    if status == 201 then
      pending = body:match('"reservationId":"([^"]+)"')
      if pending then return end
    end
    refuse(status)
    return next_buyer()
  end
  if status == 200 then
    acked = acked + 1
    local t = now_ms()
    if t >= from and t < till then counted = counted + 1 end
  else
    refuse(status)
  end
  next_buyer()
end

function done(summary, latency)
  local a, c, by, r = 0, 0, {}, {}
  for _, thread in ipairs(threads) do
    a = a + thread:get("acked")
    c = c + thread:get("counted")
    for status, n in pairs(thread:get("refused")) do
      by[status] = (by[status] or 0) + n
    end
  end
  for status, n in pairs(by) do
    r[#r + 1] = string.format('"%d":%d', status, n)
  end
  -- Request latency (a reservation or a commit, µs) over the whole run, warm-up and drain included.
  io.write(string.format('SALES {"acknowledged":%d,"counted":%d,"refused":{%s},"errors":%d,"timeouts":%d,"p50":%d,"p99":%d}\n', a, c, table.concat(r, ","),
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
