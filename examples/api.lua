-- examples/api.lua: a pipeline that calls an HTTP API with JSON.
--
-- What it shows: http.get with a query, response:json(), a manual choice
-- whose choices come from the API's answer, and http.post of a JSON record.
-- It takes the API's base URL as its first argument; tests/httpd.py (which
-- echoes every request back as JSON) can stand in for a real registry:
--   python3 tests/httpd.py /tmp/port /tmp/requests.log &
--   understudy run examples/api.lua http://127.0.0.1:$(cat /tmp/port) --answers examples/api.answers.json

local base = assert(arg[1], "usage: understudy run examples/api.lua BASE_URL")

local listing = auto("list models", function(inp)
  local r = http.get(inp.base .. "/models", { query = { stage = "candidate" }, timeout = 10 })
  if not r:ok() then error("the registry answered HTTP " .. r.status) end
  return r:json()
end, { inputs = { base = base } })

-- A registry answers with its models; the echo server with what it was asked.
local names = {}
for _, m in ipairs(listing.models or {}) do names[#names + 1] = m.name end
if #names == 0 then names = { "resnet-a", "resnet-b" } end

local pick = manual("promote", "Which candidate model goes to production?", { choices = names })

local receipt = auto("record", function(inp)
  local r = http.post(inp.base .. "/promotions", { json = { model = inp.model, by = "understudy" } })
  if not r:ok() then error("the registry refused the promotion: HTTP " .. r.status) end
  return r.status
end, { inputs = { base = base, model = pick } })

print(pick .. " promoted (HTTP " .. receipt .. ")")
