-- examples/runbook.lua: an ops runbook in "do-nothing script" style.
--
-- What it shows: every step starts manual, with its instructions; the
-- script only walks a person through them and records how long each took.
-- `understudy report runbook` then ranks the steps by human time: the top
-- one is the first to automate, one at a time (turn its manual() into an
-- auto(), or give it a candidate first).
--
-- Without a terminal:
--   understudy run examples/runbook.lua web-3 --answers examples/runbook.answers.json
-- On a terminal:
--   understudy run examples/runbook.lua web-3

local host = arg[1] or "web-1"

manual("drain", "Take " .. host .. " out of the load balancer pool; wait until it has no connections.")
local ticket = manual("ticket", "Open a change ticket for the restart of " .. host .. " and paste its id.",
  { type = "string", validate = function(t)
      if t:match("^CHG%-%d+$") then return true end
      return nil, "a ticket id looks like CHG-1234"
    end })
manual("restart", "ssh " .. host .. " and run: sudo systemctl restart app")
local healthy = manual("check", "Open https://" .. host .. "/health. Does it say ok?", { type = "boolean" })
if not healthy then
  error(host .. " is not healthy after the restart; it stays out of the pool (ticket " .. ticket .. ")", 0)
end
manual("undrain", "Put " .. host .. " back into the load balancer pool.")
print(host .. " restarted under " .. ticket)
