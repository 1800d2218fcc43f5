-- examples/release.lua: an ML model release, done partly by hand.
--
-- What it shows:
--   * auto steps that train and evaluate (stand-ins: fixed numbers derived
--     from the version, so every run is reproducible);
--   * a manual sign-off whose inputs are the metrics: the record can later
--     tell whether people always answer the same for the same metrics;
--   * a manual choice of where to deploy, with a candidate automation that
--     proposes an answer in the person's shadow and, after 3 agreements in a
--     row, answers alone (trust = 3);
--   * an auto deploy.
--
-- Without a terminal:
--   understudy run examples/release.lua 1.4 --answers examples/release.answers.json
-- On a terminal, answering the prompts:
--   understudy run examples/release.lua 1.4

local version = arg[1] or "dev"

local model = auto("train", function(inp)
  local seed = 0
  for c in inp.version:gmatch(".") do seed = (seed * 31 + c:byte()) % 1000 end
  return { version = inp.version, seed = seed }
end, { inputs = { version = version } })

local metrics = auto("evaluate", function(m)
  return { accuracy = 0.9 + m.seed / 100000, latency_ms = 40 + m.seed % 20 }
end, { inputs = model })

local ok = manual("sign-off",
  string.format("Model %s: accuracy %.4f, p50 latency %d ms. Ship it?",
                version, metrics.accuracy, metrics.latency_ms),
  { type = "boolean", inputs = metrics })
if not ok then
  error("release " .. version .. " was not signed off", 0)
end

local target = manual("target", "Deploy where?", {
  choices = { "staging", "prod" },
  inputs = metrics,
  candidate = function(m) return m.latency_ms < 50 and "prod" or "staging" end,
  trust = 3,
})

local where = auto("deploy", function(inp)
  return string.format("model %s serving on %s", inp.version, inp.target)
end, { inputs = { version = version, target = target } })

print(where)
