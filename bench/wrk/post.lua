-- POST of one path with an empty body: the floor's refresh-shaped routes (bench/floor.py).
local report = require("report")
done = report.done
wrk.method = "POST"
