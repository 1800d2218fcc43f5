-- examples/release.lua: an ML model release, done partly by hand.
--
-- Shows: an auto step that evaluates, a manual sign-off whose inputs are
-- the metrics (so the record can later tell whether people always answer
-- the same for the same metrics), a choice with a default, and an auto
-- deploy. Run it without a terminal:
--   ./understudy run examples/release.lua 1.4 --answers examples/release.answers.json
-- or on a terminal, answering the prompts:
--   ./understudy run examples/release.lua 1.4

local version = arg[1] or "dev"

local metrics = auto("evaluate", function(inp)
  -- Stands in for a real evaluation: fixed numbers derived from the version.
  local seed = 0
  for c in inp.version:gmatch(".") do seed = (seed * 31 + c:byte()) % 1000 end
  return { accuracy = 0.9 + seed / 100000, latency_ms = 40 + seed % 20 }
end, { inputs = { version = version } })

local ok = manual("sign-off",
  string.format("Model %s: accuracy %.4f, p50 latency %d ms. Ship it?",
                version, metrics.accuracy, metrics.latency_ms),
  { type = "boolean", inputs = metrics })
if not ok then
  error("release " .. version .. " was not signed off", 0)
end

local target = manual("target", "Deploy where?", { choices = { "staging", "prod" }, default = "staging" })

local where = auto("deploy", function(inp)
  return string.format("model %s serving on %s", inp.version, inp.target)
end, { inputs = { version = version, target = target } })

print(where)
