-- GET of one path with no token: the baseline.
local report = require("report")
done = report.done
