-- The naive peer's refresh: every refresh token is sent once as a bearer; its rotated
-- successor, read from the JSON body, joins the queue.
-- Arguments: <refresh tokens file> <wrk threads>
local report = require("report")
done = report.done

setup = report.number_thread

function init(args)
  queue = report.lines_for_thread(args[1], index, tonumber(args[2]))
  first, last = 1, #queue
end

function request()
  local token = "spent"
  if first <= last then
    token = queue[first]
    queue[first] = nil
    first = first + 1
  end
  return wrk.format("POST", wrk.path, { ["Authorization"] = "Bearer " .. token }, "")
end

function response(status, headers, body)
  local token = body and body:match('"refreshToken"%s*:%s*"([^"]+)"')
  if status == 200 and token then
    last = last + 1
    queue[last] = token
  end
end
