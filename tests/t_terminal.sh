# t_terminal.sh: prompts on a real pseudo-terminal, and signals.

test_terminal_prompt_reprompts_and_records_prompt() {
	write t.lua <<'LUA'
local n = manual("replicas", "How many replicas?", { type = "number" })
local env = manual("target", "Deploy where?", { choices = { "staging", "prod" } })
print("got", n, env)
LUA
	pty 'expect replicas [number]> \nsendline three\nexpect not a number\nexpect replicas [number]> \nsendline 3\nexpect target [1-2]> \nsendline 1\n' run t.lua
	same "$CODE" "0"
	has "$OUT" "How many replicas?"
	has "$OUT" "got	3	staging"
	same "$(sql "SELECT group_concat(how || '=' || output, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" 'prompt=3 prompt="staging"'
}

test_terminal_secret_is_not_echoed() {
	echo 'local t = manual("token", "Paste it", { secret = true }); print("length", #t)' | write s.lua
	pty 'expect token (hidden)> \nsendline topsecret-123\n' run s.lua
	same "$CODE" "0"
	has "$OUT" "length	13"
	lacks "$OUT" "topsecret"
	lacks "$(sql "SELECT quote(output) FROM steps")" "topsecret"
}

test_ctrl_c_at_prompt_interrupts_with_130() {
	write c.lua <<'LUA'
auto("before", function() return "done" end)
manual("wait", "Take your time")
print("not reached")
LUA
	pty 'expect wait [Enter when done]> \nsend \\x03\n' run c.lua
	same "$CODE" "130"
	has "$OUT" 'interrupted at step "wait"'
	lacks "$OUT" "not reached"
	same "$(sql "SELECT status FROM runs")" "interrupted"
	same "$(sql "SELECT group_concat(name || ':' || status) FROM (SELECT * FROM steps ORDER BY id) AS t")" "before:ok"
}

test_sigterm_in_auto_step_records_interrupted() {
	write loop.lua <<'LUA'
auto("first", function() return 1 end)
auto("spin", function()
  io.open("spinning", "w"):close()
  while true do end
end)
LUA
	"$UNDERSTUDY" run loop.lua >out.txt 2>err.txt &
	local pid=$! i
	for i in $(seq 100); do [ -e spinning ] && break; sleep 0.1; done
	test -e spinning || fail "the step never started"
	kill -TERM $pid
	wait $pid
	same "$?" "143"
	has "$(cat err.txt)" 'interrupted at step "spin"'
	same "$(sql "SELECT status FROM runs")" "interrupted"
	same "$(sql "SELECT group_concat(name || ':' || status, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" "first:ok spin:interrupted"
}

test_second_signal_exits_at_once() {
	# C code that never returns: the first signal waits for the watchdog, the second does not.
	write stubborn.lua <<'LUA'
auto("stubborn", function()
  io.open("started", "w"):close()
  return string.rep("a", 40):find(".-.-.-.-.-.-.-.-.-.-b")
end)
LUA
	"$UNDERSTUDY" run stubborn.lua >out.txt 2>err.txt &
	local pid=$! i
	for i in $(seq 100); do [ -e started ] && break; sleep 0.1; done
	kill -TERM $pid
	sleep 0.2
	kill -0 $pid 2>/dev/null || fail "the first signal ended a run stuck in C code at once"
	kill -TERM $pid
	wait $pid
	same "$?" "143"
}

test_a_script_cannot_swallow_an_interruption() {
	write swallow.lua <<'LUA'
io.open("started", "w"):close()
while true do
  pcall(function() while true do end end)
  io.open("went-on", "w"):close()   -- never reached: the interruption comes again here
end
LUA
	"$UNDERSTUDY" run swallow.lua >out.txt 2>err.txt &
	local pid=$! i
	for i in $(seq 100); do [ -e started ] && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid
	same "$?" "143"
	same "$(sql "SELECT status FROM runs")" "interrupted"
	test ! -e went-on || fail "the script went on after catching the interruption"
}

test_colour_only_on_a_terminal_and_not_with_no_color() {
	echo 'auto("a", function() return 1 end)' | write c.lua
	pty '' run c.lua
	same "$CODE" "0"
	has "$OUT" $'[\033[32mok\033[0m] auto a'
	pty '' run c.lua --name plain
	NO_COLOR=1 "$TEST_BIN/ptyrun" -- "$UNDERSTUDY" run c.lua </dev/null >pty.txt 2>&1
	lacks "$(cat pty.txt)" $'\033['
	has "$(cat pty.txt)" "[ok] auto a"
	run_us 0 run c.lua
	lacks "$ERR" $'\033['
}

test_tables_fit_the_terminal() {
	write w.lua <<'LUA'
manual("a step with a rather long name", "?", { type = "string",
  inputs = { path = "/srv/data/" .. string.rep("x", 60), owner = "someone with a long name" } })
LUA
	run_us 0 run w.lua --answer "a step with a rather long name=$(printf 'v%.0s' $(seq 70))"
	# Not a terminal: whole values, however wide.
	run_us 0 history w
	[ "$(awk '{ if (length > n) n = length } END { print n }' out.txt)" -gt 120 ] || fail "cut without a terminal"
	# An 80-column terminal: every line fits, cut values end with "...".
	printf '' | "$TEST_BIN/ptyrun" -t 10 -- "$UNDERSTUDY" history w >pty.txt 2>&1 || fail "history on a terminal failed"
	tr -d '\r' <pty.txt >lines.txt
	awk 'length > 80 { print; bad = 1 } END { exit bad }' lines.txt || fail "a line is wider than the terminal"
	has "$(cat lines.txt)" "..."
	has "$(head -1 lines.txt)" "OPERATOR"
}

test_a_loop_on_a_terminal_is_one_line_in_place() {
	write loop.lua <<'LUA'
for i = 1, 5000 do auto("s", function() return i end) end
print("between")
for i = 1, 3 do auto("t", function() return i end) end
LUA
	"$TEST_BIN/ptyrun" -t 20 -- "$UNDERSTUDY" run loop.lua </dev/null >pty.txt 2>&1 || fail "the run failed: $(cat pty.txt)"
	tr -d '\r' <pty.txt >lines.txt
	# A line for the first, one updated in place for the rest, ended before the script's print.
	same "$(grep -c 'auto s' lines.txt)" 2
	has "$(grep 'auto s #' lines.txt)" "auto s #5000 = 5000 (run, "
	has "$(grep 'auto s #' lines.txt)" "[5000 in a row, "
	same "$(grep -A1 'auto s #' lines.txt | tail -1)" "between"
	same "$(sql "SELECT count(*) FROM steps")" 5003
	# --verbose: every line; without a terminal: every line, as always.
	"$TEST_BIN/ptyrun" -t 20 -- "$UNDERSTUDY" run loop.lua --verbose </dev/null >pty.txt 2>&1 || fail "verbose failed"
	same "$(tr -d '\r' <pty.txt | grep -c 'auto s')" 5000
	run_us 0 run loop.lua
	same "$(grep -c 'auto s' err.txt)" 5000
	# --quiet: no line for an auto step that went well.
	run_us 0 run loop.lua --quiet
	same "$(grep -c 'auto' err.txt)" 0
	has "$ERR" "run 4 of loop ok: 5003 steps"
}

test_an_answer_that_is_not_utf8_is_asked_again() {
	write c.lua <<'LUA'
print(manual("target", "Deploy where?", { choices = { "staging", "prod" } }))
print(manual("name", "Your name?", { type = "string" }))
LUA
	pty 'expect target [1-2]> \nsend \\xff\\xfe\\r\nexpect target [1-2]> \nsendline staging\nexpect name> \nsend caf\\xe9\\r\nexpect not valid UTF-8\nexpect name> \nsendline bob\n' run c.lua
	same "$CODE" 0
	has "$OUT" "staging"
	has "$OUT" "bob"
	same "$(sql "SELECT group_concat(output, ' ') FROM steps")" '"staging" "bob"'
}

test_a_note_typed_at_the_prompt_goes_with_the_answer() {
	write n.lua <<'LUA'
print(manual("sign-off", "Ship it?", { type = "boolean" }))
LUA
	pty 'expect sign-off [y/n]> \nsendline note: metrics checked twice\nexpect (noted; now the answer)\nexpect sign-off [y/n]> \nsendline y\n' run n.lua
	same "$CODE" 0
	same "$(sql "SELECT how, output, note FROM steps")" "prompt|true|metrics checked twice"
	run_us 0 show 1
	has "$OUT" "1 sign-off (tester): metrics checked twice"
}

test_prompt_lines_are_edited_and_tab_completes_choices() {
	write e.lua <<'LUA'
print(manual("target", "Deploy where?", { choices = { "staging", "prod", "preview" } }))
print(manual("again", "And now?", { choices = { "staging", "prod", "preview" } }))
print(manual("ship", "Ship it?", { type = "boolean" }))
LUA
	# Left arrow then a letter mends "prd"; Tab finishes "pre"; Tab on "pr" lists both; on "y" gives yes.
	# (A pause after each prompt: keys typed before the line editor takes the terminal are echoed by it.)
	pty 'expect target [1-3]> \nsleep 200\nsend prd\\x1b[Do\\r\nexpect again [1-3]> \nsleep 200\nsend pr\\t\nexpect prod  preview\nsend e\\t\\r\nexpect ship [y/n]> \nsleep 200\nsend y\\t\\r\n' run e.lua
	same "$CODE" 0
	same "$(sql "SELECT group_concat(output, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" '"prod" "preview" true'
	lacks "$OUT" "[D"
}

test_up_brings_back_the_steps_own_past_answers() {
	write u.lua <<'LUA'
print(manual("target", "Deploy where?", { choices = { "staging", "prod" } }))
print(manual("replicas", "How many?", { type = "number" }))
LUA
	pty 'expect target [1-2]> \nsendline prod\nexpect replicas [number]> \nsendline 7\n' run u.lua
	same "$CODE" 0
	# Up at each prompt: that step's answer from the record, not the other's.
	pty 'expect target [1-2]> \nsend \\x1b[A\\r\nexpect replicas [number]> \nsend \\x1b[A\\r\n' run u.lua
	same "$CODE" 0
	same "$(sql "SELECT group_concat(output, ' ') FROM (SELECT * FROM steps WHERE run = 2 ORDER BY id) AS t")" '"prod" 7'
}

test_a_json_answer_may_span_lines() {
	write j.lua <<'LUA'
print(json.encode(manual("config", "The settings", { type = "json" })))
LUA
	pty 'expect config [JSON]> \nsendline {"replicas": [1,\nexpect ...> \nsendline 2], "name": "a{b"}\n' run j.lua
	same "$CODE" 0
	has "$OUT" '{"name":"a{b","replicas":[1,2]}'
	# From standard input too, and one line still is one answer.
	printf '[1,\n 2]\n' >two.txt
	run_us 0 run j.lua <two.txt
	has "$OUT" '[1,2]'
	printf '[3]\n' >one.txt
	run_us 0 run j.lua <one.txt
	has "$OUT" '[3]'
	# An empty line ends a document left open: it is refused, and asked again.
	printf '{"a": 1\n\n{"a": 2}\n' >open.txt
	run_us 0 run j.lua <open.txt
	has "$ERR" "not JSON"
	has "$OUT" '{"a":2}'
}

test_a_timeout_counts_down_at_the_prompt() {
	write t.lua <<'LUA'
print(manual("go", "Go on?", { type = "boolean", default = true, timeout = 3 }))
LUA
	pty 'expect (the default in 3 s)> \nexpect (the default in 2 s)> \nexpect (the default in 1 s)> \nexpect the default is taken\n' run t.lua
	same "$CODE" 0
	same "$(sql "SELECT how, output FROM steps")" "default|true"
}

test_a_long_auto_step_shows_its_time_on_a_terminal() {
	write slow.lua <<'LUA'
auto("slow", function() sh.run{ "sleep", "1.5" } return 1 end)
LUA
	pty 'expect [running] auto slow (1 s)\nexpect auto slow = 1\n' run slow.lua
	same "$CODE" 0
	run_us 0 run slow.lua
	lacks "$ERR" "running"
	has "$ERR" "auto slow = 1 (run, 1."
}

test_an_answer_refused_from_elsewhere_keeps_what_was_typed() {
	write r.lua <<'LUA'
print("env=" .. manual("target", "Deploy where?", { choices = { "staging", "prod" } }))
LUA
	(
		for i in $(seq 100); do "$UNDERSTUDY" waiting | grep -q target && break; sleep 0.1; done
		"$UNDERSTUDY" answer 1 target bogus
		sleep 0.5
		"$UNDERSTUDY" answer 1 target prod
	) >answers.txt 2>&1 &
	pty 'expect target [1-2]> \nsend sta\nexpect was refused\nexpect target [1-2]> sta\nexpect env=prod\n' run r.lua
	wait
	same "$CODE" 0
	same "$(sql "SELECT how, output FROM steps")" 'remote|"prod"'
	has "$(cat answers.txt)" "not one of the choices"
}
