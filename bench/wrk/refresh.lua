-- A rotating refresh: every refresh token is spent once; its rotated successor joins the queue.
-- "cookie": the blog's refreshToken cookie, its successor in Set-Cookie. "bearer": the
-- naive peer's Authorization header, its successor in the JSON body's refreshToken.
-- Arguments: <refresh tokens file> <cookie|bearer> <wrk threads>
local report = require("report")
done = report.done

setup = report.number_thread

function init(args)
  queue = report.lines_for_thread(args[1], index, tonumber(args[3]))
  bearer = args[2] == "bearer"
  first, last = 1, #queue
end

function request()
  local token = "spent"
  if first <= last then
    token = queue[first]
    queue[first] = nil
    first = first + 1
  end
  if bearer then
    return wrk.format("POST", wrk.path, { ["Authorization"] = "Bearer " .. token }, "")
  end
  return wrk.format("POST", wrk.path, { ["Cookie"] = "refreshToken=" .. token }, "")
end

local function successor(headers, body)
  if bearer then
    return body and body:match('"refreshToken"%s*:%s*"([^"]+)"')
  end
  local cookie = headers["Set-Cookie"]
  return cookie and cookie:match("refreshToken=([^;]+)")
end

function response(status, headers, body)
  local token = successor(headers, body)
  if status == 200 and token then
    last = last + 1
    queue[last] = token
  end
end
