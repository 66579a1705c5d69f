-- Flight events for wrk: one event per request, or BATCH events per request.
-- Each thread numbers its events; a run nonce keeps event ids unique across runs, and
-- occurred_at is the wall clock, so events are newer than what earlier runs stored.
-- Legs: LEGS distinct legs (flight BN1..BN9000 from a NYC origin, February 2013); 2% are cancellations
-- (critical alerts, once per leg), the rest delays under the 45-minute alert threshold
-- with the leg's own gate (a moving gate would raise a gate-change alert every time).
local batch = tonumber(os.getenv("BATCH") or "1")
local legs = tonumber(os.getenv("LEGS") or "2000")
local token = os.getenv("TOKEN")
local origins = {"EWR", "JFK", "LGA"}
thread_id = 0 -- set per thread by setup()
local counter = 0
local nonce = tostring(os.time())

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  wrk.method = "POST"
  wrk.path = "/api/v1/integrations/" .. token .. "/flight-events"
  wrk.headers["Content-Type"] = "application/json"
end

local function event()
  counter = counter + 1
  local n = math.random(1, legs)
  local flight = (n - 1) % 9000 + 1
  local day = math.floor((n - 1) / 9000) % 28 + 1
  local origin = origins[(n % 3) + 1]
  local hour = 5 + (n % 18)
  local kind, extra
  if math.random() < 0.02 then
    kind, extra = "cancelled", ""
  else
    local delay = math.random(0, 40)
    local minute = delay % 60
    kind = "delayed"
    extra = string.format(
      ',"estimated_departure":"2013-02-%02dT%02d:%02d:00-05:00","delay_minutes":%d,"gate":"G%d"',
      day, hour + math.floor(delay / 60), minute, delay, n % 40 + 1)
  end
  local now = os.time()
  return string.format(
    '{"event_id":"wrk-%s-%d-%d","event_type":"%s","occurred_at":"%s.%06dZ",' ..
    '"flight_number":"BN%d","origin":"%s","destination":"ORD",' ..
    '"scheduled_departure":"2013-02-%02dT%02d:00:00-05:00"%s}',
    nonce, thread_id, counter, kind, os.date("!%Y-%m-%dT%H:%M:%S", now), counter % 1000000,
    flight, origin, day, hour, extra)
end

function request()
  local body
  if batch == 1 then
    body = event()
  else
    local items = {}
    for i = 1, batch do items[i] = event() end
    body = "[" .. table.concat(items, ",") .. "]"
  end
  return wrk.format(nil, nil, nil, body)
end

local bad = 0
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad <= 3 then io.write("unexpected status " .. status .. ": " .. body:sub(1, 200) .. "\n") end
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local ok = summary.requests - summary.errors.status
  io.write(string.format("events/s: %.0f (batch %d, %d requests, %d errors, %d non-2xx)\n",
    ok * batch / seconds, batch, summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
  io.write(string.format("latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
