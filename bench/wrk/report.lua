-- Shared by every scenario: print one JSON line that bench/run.py reads.
local report = {}

function report.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"timeouts": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end

-- wrk calls setup once per thread, in its main state: give each thread its index.
local created = 0
function report.number_thread(thread)
  thread:set("index", created)
  created = created + 1
end

-- Lines of a file, split among wrk's threads by the thread's index.
function report.lines_for_thread(path, index, threads)
  local lines, n = {}, 0
  for line in io.lines(path) do
    if n % threads == index then
      lines[#lines + 1] = line
    end
    n = n + 1
  end
  return lines
end

return report
