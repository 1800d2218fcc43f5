# t_repl.sh: the REPL, on a real pseudo-terminal and piped.

repl_env() { export XDG_STATE_HOME="$PWD/state"; }

test_repl_values_tables_functions_errors() {
	repl_env
	pty 'expect > \nsendline 1 + 1\nexpect 2\nexpect > \nsendline {3, 2.5, "x\\\\n", k = {z = true, a = print == nil}}\nexpect }\nexpect > \nsendline function twice(n)\nexpect >> \nsendline   return n * 2\nexpect >> \nsendline end\nexpect > \nsendline twice(21)\nexpect 42\nexpect > \nsendline error("boom")\nexpect stack traceback\nexpect > \nsendline twice(4), "ok"\nexpect 8\nexpect > \nsleep 200\nsend \\x04\n' repl
	same "$CODE" "0"
	has "$OUT" '{ 3, 2.5, "x\n", k = { a = false, z = true } }'
	has "$OUT" 'stdin:1: boom'
	has "$OUT" '8	"ok"'
}

test_repl_ctrl_c_interrupts_code_not_the_prompt() {
	repl_env
	pty 'expect > \nsend \\x03\nexpect > \nsendline while true do end\nsleep 300\nsend \\x03\nexpect interrupted\nexpect > \nsendline 6 * 7\nexpect 42\nexpect > \nsleep 200\nsend \\x04\n' repl
	same "$CODE" "0"
	has "$OUT" "interrupted"
	lacks "$OUT" "stack traceback"   # Ctrl-C is no bug of the code typed
	same "$(sql "SELECT status FROM runs")" "ok"
}

test_repl_tab_completes_table_fields_and_globals() {
	repl_env
	pty 'expect > \nsendline config = {alpha = 1, beta = {gamma = 3}}\nexpect > \nsend config.be\\t\nsleep 300\nsend .gam\\t\nsleep 300\nsendline \nexpect 3\nexpect > \nsend string.upp\\t\nsleep 300\nsendline ("x")\nexpect "X"\nexpect > \nsend .hel\\t\nsleep 300\nsendline \nexpect .load FILE\nexpect > \nsleep 200\nsend \\x04\n' repl
	same "$CODE" "0"
	has "$OUT" "config.beta.gamma"
	has "$OUT" "string.upper"
}

test_repl_completion_calls_no_code() {
	repl_env
	write trap.lua <<'LUA'
trap = setmetatable({}, { __index = function() io.open("called", "w"):close() end })
LUA
	pty 'expect > \nsend trap.x\\t\nsleep 300\nsend \\x03\nexpect > \nsleep 200\nsend \\x04\n' repl trap.lua
	same "$CODE" "0"
	test ! -e called || fail "completion ran an __index function"
}

test_repl_manual_step_is_recorded() {
	repl_env
	pty 'expect > \nsendline n = manual("replicas", "How many?", { type = "number" })\nexpect replicas [number]> \nsendline 4\nexpect > \nsendline n * 10\nexpect 40\nexpect > \nsleep 200\nsend \\x04\n' repl --name playground
	same "$CODE" "0"
	run_us 0 history playground replicas --json
	same "$(jq -c '[.[0].output, .[0].how]' <<<"$OUT")" '[4,"prompt"]'
	same "$(sql "SELECT pipeline, status FROM runs")" "playground|ok"
}

test_repl_history_persists_across_sessions() {
	repl_env
	pty 'expect > \nsendline 40 + 2\nexpect 42\nexpect > \nsleep 200\nsend \\x04\n' repl
	same "$CODE" "0"
	test -s state/understudy/repl_history || fail "no history file"
	pty 'expect > \nsleep 200\nsend \\x1b[A\nsleep 300\nsendline \nexpect 42\nexpect > \nsleep 200\nsend \\x04\n' repl
	same "$CODE" "0"
	# A multi-line entry comes back as one item.
	pty 'expect > \nsendline function greet(n)\nexpect >> \nsendline   return "hi " .. n\nexpect >> \nsendline end\nexpect > \nsleep 200\nsend \\x04\n' repl
	pty 'expect > \nsleep 200\nsend \\x1b[A\nsleep 300\nsendline \nexpect > \nsendline greet("you")\nexpect "hi you"\nexpect > \nsleep 200\nsend \\x04\n' repl
	same "$CODE" "0"
}

test_repl_bare_command_on_a_terminal() {
	repl_env
	pty 'expect .help for help\nexpect > \nsendline .help\nexpect .history STEP\nexpect > \nsendline .quit\n'
	same "$CODE" "0"
	has "$OUT" "run 1 of repl"
}

test_repl_piped_reads_chunks_without_prompts() {
	write session.txt <<'LUA'
function sq(x)
  return x * x
end
print(sq(3))
sq = function(x) return x * x end
sq(5)
v = auto("square", function() return sq(6) end)
{ v = v }
.history square
nosuch.field = 1
"still here"
LUA
	"$UNDERSTUDY" repl <session.txt >out.txt 2>err.txt || fail "exit $?"
	OUT=$(cat out.txt)
	same "$(sed -n 1,3p out.txt)" "9
25
{ v = 36 }"
	has "$OUT" "square  auto"
	has "$OUT" '"still here"'
	lacks "$OUT" "> "
	has "$(cat err.txt)" "attempt to index a nil value (global 'nosuch')"
}

test_repl_script_globals_and_dot_commands() {
	write setup.lua <<'LUA'
greeting = "hello"
LUA
	write more.lua <<'LUA'
loaded = greeting .. " again"
LUA
	printf 'greeting\n.load more.lua\nloaded\n.load missing.lua\n.runs\n.report\n.frob\n.quit\nprint("after quit")\n' |
		"$UNDERSTUDY" repl setup.lua >out.txt 2>err.txt || fail "exit $?"
	OUT=$(cat out.txt)
	has "$OUT" '"hello"'
	has "$OUT" '"hello again"'
	has "$OUT" "RUN  PIPELINE"
	has "$(cat err.txt)" "report: no pipeline repl"
	lacks "$OUT" "after quit"
	has "$(cat err.txt)" "cannot open missing.lua"
	has "$(cat err.txt)" "unknown command .frob"
	same "$(sql "SELECT script FROM runs")" "setup.lua"
}

test_repl_cuts_long_tables_and_wraps() {
	printf 't = {} for i = 1, 150 do t[i] = i end\nt\nw = {} for i = 1, 30 do w["key" .. i] = string.rep("v", 10) end\nw\n' |
		"$UNDERSTUDY" repl >out.txt 2>err.txt || fail "exit $?"
	has "$(cat out.txt)" "99, 100, ... (50 more),"
	local widest
	widest=$(awk '{ if (length > m) m = length } END { print m }' out.txt)
	[ "$widest" -le 80 ] || fail "a line of $widest columns"
	same "$(grep -o 'key[0-9]* = ' out.txt | wc -l)" "30"
}

test_repl_unfinished_chunk_at_end_of_input() {
	printf 'x = 1\nfunction f(\n' | "$UNDERSTUDY" repl >out.txt 2>err.txt || fail "exit $?"
	has "$(cat err.txt)" "<eof>"
}

test_repl_deep_tables_are_cut() {
	printf 't = {} local c = t for i = 1, 3000 do c.next = {} c = c.next end\nt\n' | "$UNDERSTUDY" repl >out.txt 2>err.txt || fail "exit $?"
	has "$(cat out.txt)" "{...}"
}
