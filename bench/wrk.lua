-- Prints wrk's summary as one JSON line after the human-readable report, so bench/wrk.ts does not have to parse
-- wrk's rounded units. Latencies are in microseconds; `status` counts non-2xx/3xx answers (a 304 is a 3xx).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status))
end
