# t_examples.sh: the examples run with their answers; install; help, man page and completion agree.

EX=$TESTS/../examples

test_example_release() {
	run_us 0 run "$EX/release.lua" 1.4 --answers "$EX/release.answers.json"
	same "$OUT" "model 1.4 serving on prod"
	has "$ERR" "understudy: run 1 of release ok: 5 steps, 2 by a person"
	# The candidate agrees with the answer; after three runs it answers alone.
	run_us 0 run "$EX/release.lua" 1.4 --answers "$EX/release.answers.json"
	run_us 0 run "$EX/release.lua" 1.4 --answers "$EX/release.answers.json"
	run_us 0 run "$EX/release.lua" 1.4 --answer sign-off=y
	has "$ERR" "target answered by the candidate, trusted: the last 3 answers by a person agreed with it"
}

test_example_labelling_becomes_a_rule() {
	local i
	for i in 1 2; do
		"$UNDERSTUDY" run "$EX/labelling.lua" "$EX/data/samples.csv" <"$EX/labelling.answers" >out.txt 2>err.txt ||
			fail "exit $?: $(cat err.txt)"
	done
	same "$(cat out.txt)" '{"discard":1,"keep":3,"relabel":2}'
	same "$(sql "SELECT count(*) FROM steps WHERE name = 'label' AND how = 'stdin'")" "12"
	run_us 0 report labelling --min-runs 6 --json
	# The kind decides alone, whatever the size: a rule, not a table of every inputs.
	same "$(jq -r '.[] | select(.step == "label") | [.verdict, .rule.kind, .rule.key] | join(" ")' <<<"$OUT")" \
		"ready: rule key kind"
	run_us 0 suggest labelling label --min-runs 6
	cp out.txt rule.lua
	run_us 0 check rule.lua
	{ cat rule.lua; sed 's/manual("label"/label_rule("label"/' "$EX/labelling.lua"; } >auto.lua
	run_us 0 run auto.lua "$EX/data/samples.csv" --name labelling
	same "$OUT" '{"discard":1,"keep":3,"relabel":2}'
	same "$(sql "SELECT group_concat(DISTINCT how) FROM steps WHERE name = 'label' AND run = 3")" "run"
	run_us 0 report labelling --json
	same "$(jq -r '.[] | select(.step == "label") | .verdict' <<<"$OUT")" "automated"
}

test_example_runbook() {
	run_us 0 run "$EX/runbook.lua" web-3 --answers "$EX/runbook.answers.json"
	same "$OUT" "web-3 restarted under CHG-1042"
	run_us 2 run "$EX/runbook.lua" web-3 --answers "$EX/runbook.answers.json" --answer ticket=1042
	has "$ERR" "a ticket id looks like CHG-1234"
	run_us 1 run "$EX/runbook.lua" web-3 --answers "$EX/runbook.answers.json" --answer check=n
	has "$ERR" "web-3 is not healthy after the restart"
	run_us 0 report runbook --json
	same "$(jq -r '[.[] | .step] | sort | join(" ")' <<<"$OUT")" "check drain restart ticket undrain"
}

test_example_api() {
	httpd_start
	run_us 0 run "$EX/api.lua" "http://127.0.0.1:$PORT" --answers "$EX/api.answers.json"
	same "$OUT" "resnet-b promoted (HTTP 200)"
	same "$(jq -r 'select(.method == "POST") | .body' httpd.log)" '{"by":"understudy","model":"resnet-b"}'
	same "$(jq -r 'select(.method == "GET") | .path' httpd.log)" "/models?stage=candidate"
}

test_install_into_destdir_and_run() {
	local dest=$PWD/dest
	make -s -C "$TESTS/.." install PREFIX=/usr DESTDIR="$dest" >make.txt 2>&1 || fail "install: $(cat make.txt)"
	test -x "$dest/usr/bin/understudy" || fail "no binary installed"
	test -f "$dest/usr/share/man/man1/understudy.1" || fail "no man page installed"
	test -f "$dest/usr/share/bash-completion/completions/understudy" || fail "no completion installed"
	test -f "$dest/usr/share/understudy/understudy.lua" || fail "no language server definitions installed"
	echo 'print(json.encode(auto("x", function() return { 1, 2 } end)))' >inst.lua
	same "$("$dest/usr/bin/understudy" run inst.lua 2>/dev/null)" "[1,2]"
	make -s -C "$TESTS/.." uninstall PREFIX=/usr DESTDIR="$dest" >make.txt 2>&1 || fail "uninstall: $(cat make.txt)"
	same "$(find "$dest" -type f | wc -l)" "0"
}

test_every_command_in_help_man_page_and_completion() {
	run_us 0 --help
	local c
	for c in $(awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }' out.txt); do
		grep -q "^\.B understudy $c\b\|^\.B $c\b" "$TESTS/../docs/understudy.1" || fail "the man page misses $c"
		grep -q "commands=.*\b$c\b" "$TESTS/../docs/completion.bash" || fail "completion misses $c"
		run_us 0 help "$c"
		has "$OUT" "usage: understudy $c"
	done
	for c in $(grep -o '^  -*-[a-z-]*' out.txt | tr -d ' '); do
		[ "$c" = "-h" ] && continue   # -h, --help: --help is checked
		grep -q -- "$c" "$TESTS/../docs/completion.bash" || fail "completion misses $c"
		grep -q -- "${c//-/\\\\-}" "$TESTS/../docs/understudy.1" || fail "the man page misses $c"
	done
}

test_bash_completion_names_pipelines_and_steps() {
	echo 'manual("approve", "?"); auto("build", function() end)' | write deploy.lua
	run_us 0 run deploy.lua --answer approve=
	mkdir -p bin && ln -s "$UNDERSTUDY" bin/understudy
	complete_words() {
		PATH="$PWD/bin:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _understudy; printf "%s\n" "${COMPREPLY[@]}"' \
			_ "$TESTS/../docs/completion.bash" "$@"
	}
	same "$(complete_words understudy rep)" "repl
report"
	same "$(complete_words understudy history "")" "deploy"
	same "$(complete_words understudy history deploy a)" "approve"
	same "$(complete_words understudy suggest --db "$UNDERSTUDY_DB" deploy "")" "approve
build"
	same "$(complete_words understudy runs --js)" "--json"
}
