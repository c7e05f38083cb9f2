-- wrk script of tools/bench: POSTs the body in $BENCH_BODY, stops each thread after
-- $BENCH_MAX_PER_THREAD responses (0 = no bound; -d bounds the time), and prints the summary and
-- the whole latency histogram (microseconds) so runs can be merged exactly.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local max_per_thread = tonumber(os.getenv("BENCH_MAX_PER_THREAD") or "0")
local count = 0

function response(status, headers, body)
  count = count + 1
  if max_per_thread > 0 and count >= max_per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH summary %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout))
  for i = 1, #latency do
    local value, count = latency(i)
    io.write(string.format("BENCH h %d %d\n", value, count))
  end
end
