-- Blog login with email and password, cycling over the seeded users.
-- Arguments: <emails file> <password> <wrk threads>
local report = require("report")
done = report.done

setup = report.number_thread

function init(args)
  emails = report.lines_for_thread(args[1], index, tonumber(args[3]))
  password = args[2]
  next_email = 0
end

function request()
  next_email = next_email % #emails + 1
  local body = string.format('{"email": "%s", "password": "%s"}', emails[next_email], password)
  return wrk.format("POST", wrk.path, { ["Content-Type"] = "application/json" }, body)
end
