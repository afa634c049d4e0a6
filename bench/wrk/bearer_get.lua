-- Authenticated GET: each request carries the next of many users' access tokens.
-- Arguments: <tokens file> <wrk threads>
local report = require("report")
done = report.done

setup = report.number_thread

function init(args)
  tokens = report.lines_for_thread(args[1], index, tonumber(args[2]))
  next_token = 0
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. tokens[next_token] })
end
