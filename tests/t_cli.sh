# t_cli.sh: the command line: help, version, usage errors, arguments, check.

test_help_lists_commands_and_exit_codes() {
	run_us 0 --help
	has "$OUT" "usage: understudy"
	for c in "run SCRIPT" "check SCRIPT" "runs [PIPELINE]" "show RUN" "history PIPELINE"; do
		has "$OUT" "$c"
	done
	has "$OUT" "130 interrupted"
	run_us 0 help run
	has "$OUT" "usage: understudy run SCRIPT"
	has "$OUT" "--answer STEP=VALUE"
	run_us 0 show --help
	has "$OUT" "usage: understudy show RUN"
	lacks "$OUT" "--answer"
	run_us 2 help frobnicate
	has "$ERR" "no command 'frobnicate'"
}

test_version() {
	run_us 0 --version
	has "$OUT" "understudy "
	has "$OUT" "Lua 5.4"
}

test_usage_errors_exit_2() {
	run_us 2
	has "$ERR" "usage: understudy"
	run_us 2 frobnicate
	has "$ERR" "unknown command 'frobnicate'"
	run_us 2 runs --bogus
	has "$ERR" "unknown option --bogus"
	run_us 2 runs -x
	has "$ERR" "unknown option -x"
	run_us 2 runs --db
	has "$ERR" "option --db needs a value"
	run_us 2 runs --json=yes
	has "$ERR" "option --json takes no value"
	echo 'print(1)' | write s.lua
	run_us 2 run s.lua --json
	has "$ERR" "option --json does not apply to 'run'"
	run_us 2 show
	has "$ERR" "usage: understudy show RUN"
	run_us 2 show 1 2
	run_us 2 run
	has "$ERR" "usage: understudy run SCRIPT"
	run_us 2 run missing.lua
	has "$ERR" "cannot read missing.lua"
	test ! -e "$UNDERSTUDY_DB" || fail "a usage error created the history"
}

test_script_arguments_as_lua_lays_them_out() {
	write args.lua <<'LUA'
print(arg[0], arg[1], arg[2], arg[3], select("#", ...), ...)
LUA
	run_us 0 run args.lua 1.4 --answer approve=y B
	same "$OUT" "args.lua	1.4	B	nil	2	1.4	B"
	has "$ERR" 'no step "approve" asked for the answer'
	run_us 0 args.lua -- --verbose -x
	same "$OUT" "args.lua	--verbose	-x	nil	2	--verbose	-x"
	run_us 2 run args.lua --debug
	has "$ERR" "unknown option --debug (to pass it to the script, put it after --)"
	run_us 0 run --db="$PWD/other.db" args.lua a
	test -f other.db || fail "--db=PATH form not taken"
}

test_script_without_run_word() {
	echo 'print("hi from " .. arg[0])' | write hello.lua
	run_us 0 hello.lua
	same "$OUT" "hi from hello.lua"
	same "$(sql "SELECT pipeline || ' ' || status FROM runs")" "hello ok"
}

test_require_finds_modules_beside_the_script() {
	mkdir -p pipes/lib
	echo 'return { answer = 42 }' | write pipes/helper.lua
	echo 'return { name = "pkg" }' | write pipes/lib/init.lua
	echo 'print(require("helper").answer, require("lib").name)' | write pipes/main.lua
	run_us 0 run pipes/main.lua
	same "$OUT" "42	pkg"
}

test_shebang_line_is_skipped() {
	printf '#!/usr/bin/env understudy\nprint("ran")\nerror("line three")\n' | write sb.lua
	run_us 1 run sb.lua
	same "$OUT" "ran"
	has "$ERR" "sb.lua:3: line three"
}

test_check_compiles_only() {
	echo 'manual("x", "never asked")' | write good.lua
	run_us 0 check good.lua
	same "$OUT" ""
	same "$ERR" ""
	printf 'local x = 1\n\nlocal y = = 2\n' | write bad.lua
	run_us 2 check good.lua bad.lua
	has "$ERR" "bad.lua:3:"
	has "$ERR" "unexpected symbol"
	test ! -e "$UNDERSTUDY_DB" || fail "check touched the history"
}

test_syntax_error_on_run_exits_2_and_records_nothing() {
	printf 'print("a")\nif then\n' | write bad.lua
	run_us 2 run bad.lua
	has "$ERR" "bad.lua:2:"
	same "$OUT" ""
	test ! -e "$UNDERSTUDY_DB" || fail "a script that does not compile created the history"
}

test_script_error_exits_1_with_traceback() {
	printf 'print("before")\nlocal t = nil\nprint(t.x)\n' | write err.lua
	run_us 1 run err.lua
	same "$OUT" "before"
	has "$ERR" "err.lua:3: attempt to index a nil value"
	has "$ERR" "stack traceback"
	same "$(sql "SELECT status FROM runs")" "failed"
	has "$(sql "SELECT error FROM runs")" "err.lua:3: attempt to index"
}

test_help_fits_80_columns() {
	run_us 0 --help
	awk 'length > 80 { print; bad = 1 } END { exit bad }' out.txt || fail "--help has lines wider than 80 columns"
	has "$OUT" "resume RUN [--from STEP]  rerun RUN; finished steps are replayed, not redone"
}

test_did_you_mean_for_commands_options_and_steps() {
	run_us 2 rnu x.lua
	has "$ERR" "unknown command 'rnu' (did you mean run?)"
	run_us 2 runs --jsno
	has "$ERR" "unknown option --jsno (did you mean --json?)"
	run_us 2 xyzzy
	lacks "$ERR" "did you mean"
	write s.lua <<'LUA'
manual("sign-off", "Ship it?", { type = "boolean", tpye = "boolean" })
LUA
	run_us 2 run s.lua
	has "$ERR" "s.lua:1: step \"sign-off\": unknown option 'tpye' (did you mean 'type'?)"
	write s.lua <<'LUA'
manual("sign-off", "Ship it?", { type = "boolean" })
LUA
	run_us 0 run s.lua --answer signoff=y --answer sign-off=y
	has "$ERR" 'no step "signoff" asked for the answer given (did you mean "sign-off"?)'
	run_us 0 run s.lua --answer deploy=y --answer sign-off=y
	has "$ERR" 'no step "deploy" asked for the answer given'
	lacks "$ERR" "did you mean"
}

test_check_reads_the_option_tables_written_out() {
	write ck.lua <<'LUA'
-- manual("x", "y", { nope = 1 }) in a comment is no call
local s = [[ manual("z", "w", { nope = 2 }) ]]
manual("sign-off", "ok?", { tpye = "boolean", inputs = { a = 1, tpye = 2 } })
manual("target", "where?", {
  choices = { "a", "b" },
  type = "colour",
})
auto("build", function() return 1 end, { retry = 3, inputs = {} })
local t = { manual = function() end }
t.manual("q", "r", { bad = 1 })
manual("fine", "?", { type = "string", default = "x" })
LUA
	run_us 2 check ck.lua
	same "$ERR" "ck.lua:3: step \"sign-off\": unknown option 'tpye' (did you mean 'type'?)
ck.lua:6: step \"target\": unknown type 'colour' (done, string, number, boolean, choice or json)
ck.lua:8: step \"build\": unknown option 'retry'"
	# Every example passes.
	local f
	for f in "$TESTS"/../examples/*.lua; do run_us 0 check "$f"; done
}
