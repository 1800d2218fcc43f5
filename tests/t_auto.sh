# t_auto.sh: auto steps: results, inputs, errors with tracebacks, retries, values JSON cannot hold.

test_auto_returns_results_and_records_the_first() {
	write a.lua <<'LUA'
local a, b = auto("pair", function() return { z = 1, a = { 2.0, "x" } }, "second" end)
local got = auto("echo", function(inp) return inp.word .. "!" end, { inputs = { word = "hi" } })
local none = auto("nothing", function() end)
print(a.a[2], b, got, none)
LUA
	run_us 0 run a.lua
	same "$OUT" "x	second	hi!	nil"
	same "$(sql "SELECT group_concat(output, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" '{"a":[2,"x"],"z":1} "hi!" null'
	same "$(sql "SELECT inputs FROM steps WHERE name = 'echo'")" '{"word":"hi"}'
	same "$(sql "SELECT DISTINCT kind || '/' || how || '/' || status FROM steps")" "auto/run/ok"
	has "$ERR" '[ok] auto echo = "hi!"'
}

test_auto_error_fails_the_run_with_step_and_traceback() {
	write fail.lua <<'LUA'
local function deploy(target)
  error("no route to " .. target)
end
auto("first", function() return 1 end)
auto("deploy", function() deploy("prod") end)
print("not reached")
LUA
	run_us 1 run fail.lua
	same "$OUT" ""
	has "$ERR" 'understudy: step "deploy" failed: fail.lua:2: no route to prod'
	has "$ERR" "stack traceback:"
	has "$ERR" "fail.lua:2: in"
	has "$ERR" "in upvalue 'deploy'"
	same "$(sql "SELECT status FROM runs")" "failed"
	same "$(sql "SELECT group_concat(name || ':' || status, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" "first:ok deploy:failed"
	has "$(sql "SELECT error FROM steps WHERE name = 'deploy'")" "fail.lua:2: no route to prod"
	has "$(sql "SELECT error FROM steps WHERE name = 'deploy'")" "stack traceback:"
	same "$(us show 1 --json | jq -r '.steps[1].status')" "failed"
}

test_auto_retries_record_each_error() {
	write retry.lua <<'LUA'
local tries = 0
local v = auto("flaky", function()
  tries = tries + 1
  if tries < 3 then error("attempt " .. tries .. " failed", 0) end
  return tries
end, { retries = 2 })
print(v)
LUA
	run_us 0 run retry.lua
	same "$OUT" "3"
	local e
	e=$(sql "SELECT error FROM steps")
	has "$e" "try 1: attempt 1 failed"
	has "$e" "try 2: attempt 2 failed"
	same "$(sql "SELECT status, output FROM steps")" "ok|3"
	echo 'auto("never", function() error("nope", 0) end, { retries = 1 })' | write never.lua
	run_us 1 run never.lua
	same "$(grep -c 'nope' <<<"$(sql "SELECT error FROM steps")")" "2"
	echo 'auto("x", function() end, { retries = -1 })' | write neg.lua
	run_us 2 run neg.lua
	has "$ERR" "retries must be a whole number >= 0"
}

test_values_json_cannot_hold_are_described_not_replayable() {
	write odd.lua <<'LUA'
local f = auto("fn", function() return function() return "called" end end)
local c = auto("cycle", function() local t = {}; t.me = t; return t end)
local n = auto("nan", function() return 0/0 end)
print(f(), c.me == c, n ~= n)
LUA
	run_us 0 run odd.lua
	same "$OUT" "called	true	true"
	same "$(sql "SELECT group_concat(replayable) FROM (SELECT * FROM steps ORDER BY id) AS t")" "0,0,0"
	has "$(sql "SELECT output FROM steps WHERE name = 'fn'")" "function value"
	has "$(sql "SELECT output FROM steps WHERE name = 'cycle'")" "cycle"
	has "$(sql "SELECT output FROM steps WHERE name = 'nan'")" "NaN"
}

test_inputs_json_cannot_hold_are_an_error() {
	echo 'auto("x", function() end, { inputs = { cb = print } })' | write in.lua
	run_us 2 run in.lua
	has "$ERR" 'in.lua:1: step "x": inputs cannot be recorded as JSON: function value at .cb'
}

test_misuse_names_file_and_line() {
	printf 'local x = 1\nauto("x")\n' | write m1.lua
	run_us 1 run m1.lua
	has "$ERR" "m1.lua:2: bad argument #2 to 'auto' (function expected, got no value)"
	printf 'auto("x", print, { retry = 3 })\n' | write m2.lua
	run_us 2 run m2.lua
	has "$ERR" "m2.lua:1: step \"x\": unknown option 'retry'"
	printf 'manual(nil, "x")\n' | write m3.lua
	run_us 2 run m3.lua
	has "$ERR" "m3.lua:1: a step's name must be a string, not nil"
	lacks "$ERR" "understudy resume"
	lacks "$ERR" "stack traceback"
}

test_os_exit_finishes_the_run() {
	write ex.lua <<'LUA'
for i = 1, 3 do auto("s", function() return i end) end
os.exit(tonumber(arg[1]))
LUA
	run_us 4 run ex.lua 4
	same "$(sql "SELECT status, error FROM runs")" "failed|the script called os.exit(4)"
	same "$(sql "SELECT count(*) FROM steps")" "3"
	run_us 0 run ex.lua 0
	same "$(sql "SELECT status FROM runs WHERE id = 2")" "ok"
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2")" "3"
}
