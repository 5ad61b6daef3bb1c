-- Requests fed from a file, one per line: METHOD <TAB> PATH <TAB> BODY [<TAB> Header: value]...
-- (a body of "-" means none). Thread k of n takes lines k, k+n, k+2n, ...
--
-- Arguments (after --): FILE THREADS MODE RATE LIMIT DONE_PREFIX
--   MODE "once":  each line is sent exactly once (codes, refresh tokens); a thread
--                 that has sent all of its lines idles until wrk's duration ends.
--   MODE "cycle": the lines are sent round-robin (long-lived tokens).
--   RATE > 0 paces the threads to RATE requests/s in total; 0 sends as fast as possible.
--   LIMIT > 0 stops after LIMIT requests in total (cycle mode).
--   A thread that has all its answers creates the file DONE_PREFIX<id> and stops, so the
--   runner can end wrk early (SIGINT) once every thread is done.
-- done() prints one line "BENCH_JSON {...}" with the counts, the active window
-- (first send to last response, monotonic clock) and the latency percentiles.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function monotonic()
  ffi.C.clock_gettime(1, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    fields[#fields + 1] = field
  end
  return fields
end

function init(args)
  local path, nthreads, rate = args[1], tonumber(args[2]), tonumber(args[4] or "0")
  mode = args[3]
  local limit = tonumber(args[5] or "0")
  done_prefix = args[6]
  interval = rate > 0 and (nthreads / rate) or 0
  queue = {}
  local index = 0
  for line in io.lines(path) do
    if index % nthreads == id then
      local fields = split(line)
      local headers = {}
      for i = 4, #fields do
        local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
        headers[name] = value
      end
      local body = fields[3] ~= "-" and fields[3] or nil
      queue[#queue + 1] = wrk.format(fields[1], fields[2], headers, body)
    end
    index = index + 1
  end
  fed = #queue
  quota = (mode == "once") and #queue or math.huge
  if limit > 0 then
    quota = math.min(quota, math.ceil(limit / nthreads))
  end
  sent, picked, answered, next_slot = 0, 0, 0, 0
  first_sent, last_answer = 0, 0
  ok, client_errors, server_errors, other = 0, 0, 0, 0
  status_seen = ""
end

function delay()
  -- Called once before each request is sent (wrk also calls request() once while it sets
  -- up, without sending it; that call must not count, so sends are counted here).
  if sent >= quota then
    return 3600000 -- this thread is done; the runner stops wrk
  end
  sent = sent + 1
  local now = monotonic()
  if first_sent == 0 then
    first_sent = now
  end
  if interval == 0 then
    return 0
  end
  if next_slot < now then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return math.floor(wait * 1000)
end

function request()
  -- the item after the last one built (the set-up call takes the first, which is never
  -- sent; "once" mode wraps around to it at the very end)
  picked = picked + 1
  return queue[((picked - 1) % #queue) + 1]
end

function response(status, headers, body)
  answered = answered + 1
  last_answer = monotonic()
  if status < 300 then
    ok = ok + 1
  elseif status < 500 then
    client_errors = client_errors + 1
  else
    server_errors = server_errors + 1
  end
  if status >= 300 and #status_seen < 200 then
    status_seen = status_seen .. status .. " "
  end
  if answered >= quota then
    local marker = io.open(done_prefix .. id, "w")
    marker:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local first, last = math.huge, 0
  local totals = { ok = 0, client_errors = 0, server_errors = 0, answered = 0, fed = 0 }
  local statuses = ""
  for _, thread in ipairs(threads) do
    local f, l = thread:get("first_sent"), thread:get("last_answer")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    totals.ok = totals.ok + thread:get("ok")
    totals.client_errors = totals.client_errors + thread:get("client_errors")
    totals.server_errors = totals.server_errors + thread:get("server_errors")
    totals.answered = totals.answered + thread:get("answered")
    totals.fed = totals.fed + thread:get("fed")
    statuses = statuses .. thread:get("status_seen")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"answered": %d, "ok": %d, "client_errors": %d, "server_errors": %d, ' ..
    '"fed": %d, "window_s": %.6f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "statuses": "%s"}\n',
    totals.answered, totals.ok, totals.client_errors, totals.server_errors, totals.fed,
    (last > first) and (last - first) or 0,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.connect + errors.read + errors.write, errors.timeout, statuses))
end
