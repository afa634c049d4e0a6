-- Registrations, each with an address no one has: <prefix>-<thread>-<n>@example.com.
-- Arguments: <prefix> <password> <wrk threads>
local report = require("report")
done = report.done

setup = report.number_thread

function init(args)
  prefix = args[1] .. "-" .. tostring(index)
  password = args[2]
  count = 0
end

function request()
  count = count + 1
  local body = string.format(
    '{"email": "%s-%d@example.com", "password": "%s"}', prefix, count, password)
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
