-- examples/labelling.lua: a data-labelling QC pass over a batch of samples.
--
-- What it shows: a manual step in a loop (one occurrence per sample), whose
-- inputs are what a person looks at (the sample's kind and size). After a
-- few batches, `understudy report labelling` finds that the answer is a
-- function of the inputs, and `understudy suggest labelling label` writes
-- a lookup table that answers known kinds and still asks a person about new
-- ones.
--
-- Without a terminal, answers come from standard input, one line each:
--   understudy run examples/labelling.lua examples/data/samples.csv < examples/labelling.answers
-- On a terminal:
--   understudy run examples/labelling.lua examples/data/samples.csv

local path = arg[1] or "examples/data/samples.csv"

local samples = auto("load", function(inp)
  local text = assert(fs.read(inp.path))
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local id, kind, size = line:match("^([^,]+),([^,]+),([^,]+)$")
    if id and id ~= "id" then rows[#rows + 1] = { id = id, kind = kind, size = size } end
  end
  return rows
end, { inputs = { path = path } })

local counts = {}
for _, s in ipairs(samples) do
  local label = manual("label", "Sample " .. s.id .. ": is it usable for training?", {
    choices = { "keep", "relabel", "discard" },
    inputs = { kind = s.kind, size = s.size },
  })
  counts[label] = (counts[label] or 0) + 1
end

local summary = auto("summarise", function(c) return c end, { inputs = counts })
print(json.encode(summary))
