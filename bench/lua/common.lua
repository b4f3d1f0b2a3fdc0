-- Shared by the benchmark's wrk scripts: counts answers per thread, and those whose status is not
-- the route's own (`expected`), stops a thread after `cap` answers (the run is bounded in time by
-- wrk -d and in count by this cap), then prints one JSON line for bench.run.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

expected = 200
cap = 1000000
answered, unexpected = 0, 0

function response(status, headers, body)
  answered = answered + 1
  if status ~= expected then unexpected = unexpected + 1 end
  if answered >= cap then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local total, wrong = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("answered")
    wrong = wrong + thread:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx_3xx": %d, "unexpected": %d, ' ..
    '"answered": %d, "latency_mean_us": %.1f, "latency_p50_us": %d, "latency_p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, wrong, total,
    latency.mean, latency:percentile(50), latency:percentile(99)))
end
