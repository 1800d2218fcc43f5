# t_manual.sh: manual steps: answer types, sources, re-prompts, validation, secrets.

# A pipeline with one step of each kind of answer; prints what it got.
typed_pipeline() {
	write typed.lua <<'LUA'
local v = manual("version", "Pick the next version", { default = "1.4.0" })
local ok = manual("approve", "Metrics look right?", { type = "boolean" })
local n = manual("replicas", "How many replicas?", { type = "number", inputs = { load = 3.0, zone = "b" } })
local env = manual("target", "Deploy where?", { choices = { "staging", "prod" } })
local cfg = manual("config", "Paste the config", { type = "json" })
local done = manual("smoke test", "Click through checkout")
print(v, ok, n, math.type(n), env, cfg.a, cfg.b[2], done)
LUA
}

test_answers_by_flag_every_type() {
	typed_pipeline
	run_us 0 run typed.lua --answer version=2.0 --answer approve=yes --answer replicas=3 \
		--answer target=2 --answer 'config={"b":[1,2.5],"a":"x"}' --answer 'smoke test='
	same "$OUT" "2.0	true	3	integer	prod	x	2.5	true"
	local show
	show=$(us show 1 --json)
	same "$(jq -c '[.steps[] | .output]' <<<"$show")" '["2.0",true,3,"prod",{"a":"x","b":[1,2.5]},true]'
	same "$(jq -r '[.steps[] | .how] | unique | join(",")' <<<"$show")" "flag"
	same "$(jq -c '.steps[2].inputs' <<<"$show")" '{"load":3,"zone":"b"}'
	same "$(sql "SELECT inputs FROM steps WHERE name = 'replicas'")" '{"load":3,"zone":"b"}'
	same "$(sql "SELECT instructions FROM steps WHERE name = 'target'")" "Deploy where?"
	same "$(sql "SELECT kind, operator FROM steps WHERE seq = 1")" "manual|tester"
}

test_boolean_words_and_choice_by_name() {
	echo 'print(manual("a", "?", { type = "boolean" }), manual("b", "?", { type = "boolean" }), manual("c", "?", { choices = { "x", "y" } }))' | write b.lua
	for pair in "y n" "TRUE false" "1 0" "Yes No"; do
		set -- $pair
		run_us 0 run b.lua --answer a=$1 --answer b=$2 --answer c=y
		same "$OUT" "true	false	y"
	done
	run_us 2 run b.lua --answer a=maybe --answer b=n --answer c=x
	has "$ERR" 'step "a"'
	has "$ERR" 'answer y or n, not "maybe"'
	run_us 2 run b.lua --answer a=y --answer b=n --answer c=3
	has "$ERR" 'step "c"'
	has "$ERR" "not one of the choices"
}

test_answers_file() {
	typed_pipeline
	write answers.json <<'JSON'
{"version": "3.1", "approve": false, "replicas": 2.5, "target": "staging",
 "config": {"a": "y", "b": [0, 9]}, "smoke test": true}
JSON
	run_us 0 run typed.lua --answers answers.json --answer version=9.9
	same "$OUT" "9.9	false	2.5	float	staging	y	9	true"
	echo '{"approve": "perhaps"}' | write wrong.json
	run_us 2 run typed.lua --answers wrong.json --answer version=1
	has "$ERR" 'step "approve": the answer given by --answer/--answers is wrong'
	echo '{"replicas": "x"' | write broken.json
	run_us 2 run typed.lua --answers broken.json
	has "$ERR" "--answers broken.json: not JSON: line"
	echo '[1, 2]' | write list.json
	run_us 2 run typed.lua --answers list.json
	has "$ERR" "expected a JSON object"
	run_us 2 run typed.lua --answers nowhere.json
	has "$ERR" "--answers nowhere.json: No such file"
	run_us 2 run typed.lua --answer version
	has "$ERR" "--answer version: expected STEP=VALUE"
}

test_type_inferred_from_default_and_choices() {
	echo 'print(manual("n", "?", { default = 3 }) + 1)' | write infer.lua
	run_us 0 run infer.lua --answer n=
	same "$OUT" "4"
	run_us 2 run infer.lua --answer n=abc
	has "$ERR" 'not a number: "abc"'
	echo 'manual("x", "?", { type = "number", default = "three" })' | write baddef.lua
	run_us 2 run baddef.lua
	has "$ERR" 'baddef.lua:1: step "x": default is wrong: expected a number, got a string'
	echo 'manual("x", "?", { defualt = 1 })' | write typo.lua
	run_us 2 run typo.lua
	has "$ERR" "typo.lua:1: step \"x\": unknown option 'defualt'"
	echo 'manual("x", "?", { type = "colour" })' | write badtype.lua
	run_us 2 run badtype.lua
	has "$ERR" "unknown type 'colour'"
}

test_stdin_answers_reprompt_with_reason() {
	typed_pipeline
	printf '\nmaybe\nno\nabc\n4\nprod\n{"a": 1, "b": [true,\n\n{"a": 1, "b": [7, 8]}\n\n' >answers.txt
	"$UNDERSTUDY" run typed.lua <answers.txt >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "1.4.0	false	4	integer	prod	1	8	true"
	ERR=$(cat err.txt)
	has "$ERR" "== manual step: replicas =="
	has "$ERR" "How many replicas?"
	has "$ERR" '  ! not a number: "abc"'
	has "$ERR" '  ! answer y or n, not "maybe"'
	has "$ERR" "  ! not JSON: line"
	has "$ERR" '  inputs: {"load":3,"zone":"b"}'
	has "$ERR" "  2) prod"
	same "$(sql "SELECT group_concat(how) FROM (SELECT * FROM steps ORDER BY id) AS t")" "stdin,stdin,stdin,stdin,stdin,stdin"
	same "$(sql "SELECT output FROM steps WHERE name = 'version'")" '"1.4.0"'
}

test_validate_reprompts_and_rejects_flags() {
	write v.lua <<'LUA'
local n = manual("replicas", "How many?", { type = "number",
  validate = function(v) if v < 1 or v > 9 then return nil, "between 1 and 9, please" end return true end })
print(n)
LUA
	printf '0\n12\n5\n' | "$UNDERSTUDY" run v.lua >out.txt 2>err.txt || fail "exit $?"
	same "$(cat out.txt)" "5"
	same "$(grep -c 'between 1 and 9, please' err.txt)" "2"
	run_us 2 run v.lua --answer replicas=10
	has "$ERR" 'step "replicas": the answer given by --answer/--answers is wrong: between 1 and 9, please'
	same "$(sql "SELECT status FROM runs WHERE id = 2")" "failed"
}

test_end_of_input_interrupts_with_exit_130() {
	typed_pipeline
	printf '2.0\ny\n' | "$UNDERSTUDY" run typed.lua >out.txt 2>err.txt
	same "$?" "130"
	has "$(cat err.txt)" "end of input at step \"replicas\"; answer it with --answer 'replicas=VALUE'"
	same "$(sql "SELECT status FROM runs")" "interrupted"
	same "$(sql "SELECT group_concat(name || '=' || output, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" 'version="2.0" approve=true'
	same "$(cat out.txt)" ""
}

test_prompts_on_stderr_print_on_stdout() {
	echo 'print("to stdout"); manual("s", "Do the thing")' | write io.lua
	echo | "$UNDERSTUDY" run io.lua >out.txt 2>err.txt || fail "exit $?"
	same "$(cat out.txt)" "to stdout"
	has "$(cat err.txt)" "Do the thing"
	has "$(cat err.txt)" "[ok] manual s = true"
}

test_secret_is_never_stored() {
	write secret.lua <<'LUA'
local tok = manual("token", "Paste the API token", { secret = true })
print(#tok, tok:sub(1, 3))
LUA
	run_us 0 run secret.lua --answer token=hunter2-s3cr3t
	same "$OUT" "14	hun"
	lacks "$ERR" "hunter2"
	same "$(sql "SELECT secret, output IS NULL FROM steps")" "1|1"
	same "$(us show 1 --json | jq -c '.steps[0] | [.output, .secret]')" '[null,true]'
	printf 'pasted-s3cr3t\n' | "$UNDERSTUDY" run secret.lua >out.txt 2>err.txt || fail "exit $?"
	lacks "$(cat err.txt)" "pasted-s3cr3t"
	sqlite3 "$UNDERSTUDY_DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	for f in "$UNDERSTUDY_DB"*; do
		if grep -q -a -e hunter2 -e pasted-s3cr3t "$f"; then fail "secret found in $f"; fi
	done
}

test_steps_in_a_loop_get_occurrences() {
	write loop.lua <<'LUA'
for i = 1, 3 do
  manual("label", "Label sample " .. i, { inputs = { sample = i } })
  auto("count", function(inp) return inp.n * 2 end, { inputs = { n = i } })
end
LUA
	run_us 0 run loop.lua --answer label=
	same "$(sql "SELECT group_concat(name || ':' || occurrence || ':' || seq, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" \
		"label:1:1 count:1:2 label:2:3 count:2:4 label:3:5 count:3:6"
	same "$(sql "SELECT group_concat(output, ',') FROM (SELECT * FROM steps WHERE name = 'count' ORDER BY id) AS t")" "2,4,6"
}

test_choices_take_any_case_and_a_unique_start() {
	write c.lua <<'LUA'
print(manual("target", "Deploy where?", { choices = { "staging", "prod", "prod-eu" } }))
LUA
	printf 'STAGING\n' | "$UNDERSTUDY" run c.lua >out.txt 2>err.txt || fail "$(cat err.txt)"
	same "$(cat out.txt)" "staging"
	# "pro" starts two choices: asked again; "prod" is one exactly; "prod-E" starts only prod-eu.
	printf 'pro\nprod\n' | "$UNDERSTUDY" run c.lua >out.txt 2>err.txt || fail "$(cat err.txt)"
	same "$(cat out.txt)" "prod"
	has "$(cat err.txt)" '"pro" starts 2 of the choices: say more'
	run_us 0 run c.lua --answer target=prod-E
	same "$OUT" "prod-eu"
}

test_a_done_step_takes_done_words_or_fail_and_asks_again_otherwise() {
	write d.lua <<'LUA'
print(manual("smoke test", "Click through checkout"))
LUA
	printf 'it is broken\nok\n' | "$UNDERSTUDY" run d.lua >out.txt 2>err.txt || fail "$(cat err.txt)"
	same "$(cat out.txt)" "true"
	has "$(cat err.txt)" 'press Enter (or answer done) when it is done, or fail (fail: why) when it is not; not "it is broken"'
	run_us 0 run d.lua --answer "smoke test="
	run_us 0 run d.lua --answer "smoke test=DONE"
	run_us 1 run d.lua --answer "smoke test=fail"
}

test_notes_go_with_answers() {
	write n.lua <<'LUA'
manual("sign-off", "Ship it?", { type = "boolean" })
LUA
	run_us 0 run n.lua --answer sign-off=y --note "sign-off=metrics match the last release"
	same "$(sql "SELECT note FROM steps")" "metrics match the last release"
	run_us 0 show 1
	has "$OUT" "1 sign-off (tester): metrics match the last release"
	run_us 0 history n --json
	same "$(jq -r '.[0].note' <<<"$OUT")" "metrics match the last release"
	run_us 2 run n.lua --note sign-off
	has "$ERR" "--note sign-off: expected STEP=TEXT"
	# A usage error points at the command's own help.
	run_us 2 history
	has "$ERR" "Try 'understudy help history'."
}
