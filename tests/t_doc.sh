# t_doc.sh: the pipeline as a runbook (doc), and the dry run that does nothing.

test_doc_of_each_example_is_its_checked_in_runbook() {
	cp -r "$EX" examples
	local f
	for f in examples/*.lua; do
		run_us 0 doc "$f"
		cmp -s out.txt "${f%.lua}.md" || fail "$f: its runbook differs from ${f%.lua}.md (make examples-doc): $(diff out.txt "${f%.lua}.md" | head -10)"
		has "$OUT" "Never run: this document comes from the source alone."
	done
	# --out writes the same; --html is a page that stands alone.
	run_us 0 doc examples/release.lua --out release.md
	cmp -s release.md examples/release.md || fail "--out wrote something else"
	run_us 0 doc examples/release.lua --html
	has "$OUT" "<!DOCTYPE html>"
	has "$OUT" "<h1>An ML model release, done partly by hand</h1>"
	has "$OUT" "<blockquote>Model <code>version</code>"
	has "$OUT" "<style>"
	lacks "$OUT" "<script"
	lacks "$OUT" "<link"
	run_us 2 doc nothing-here
	has "$ERR" "doc: nothing-here is not a script"
}

test_doc_of_a_pipeline_follows_its_latest_complete_run() {
	write p.lua <<'LUA'
-- p.lua: a small release.
--
-- Its words, after the title.
local ok = manual("approve", "Ship it?", { type = "boolean", default = true })
for i = 1, 3 do auto("copy", function() return i end, { inputs = { i = i } }) end
local target = arg[1] or "db"
manual("check " .. target, "Look at " .. target .. " once more.")
if not ok then manual("roll back", "Undo it.", { choices = { "now", "later" }, timeout = 30, default = "now" }) end
LUA
	run_us 0 run p.lua --answer approve=y "--answer=check db=" --operator alice
	run_us 0 run p.lua --answer approve=y "--answer=check db=" --operator bob
	run_us 0 run p.lua --answer approve=y "--answer=check db=" --operator alice
	run_us 0 doc p
	cp out.txt first.md
	# In the order they ran: a loop once, a name made at run time in its place, the branch not taken from the source.
	same "$(grep '^### ' out.txt | tr '\n' '|')" "### 1. approve (manual)|### 2. copy (auto)|### 3. check db (manual)|### 4. roll back (manual)|"
	has "$OUT" "3 complete runs in the record (run 3); the steps as the latest complete one ran them."
	has "$OUT" "- Runs 3 times in a run (a loop)"
	has "$OUT" "- Its name is made by the script as it runs"
	has "$OUT" "> Look at db once more."
	has "$OUT" "- Answer: one of \`now\`, \`later\`"
	has "$OUT" "- Timeout: 30 s, then the default is taken"
	has "$OUT" "- Answered by alice (2), bob (1)"
	has "$OUT" "- Ran 3 times in all"
	has "$OUT" "- Verdict: too few runs: 3 manual answers; at least 5 needed"
	has "$OUT" "# A small release"
	has "$OUT" "Its words, after the title."
	lacks "$OUT" "Last answered"
	# The same record, the same text; a dry run changes nothing in it.
	run_us 0 run p.lua --dry-run
	run_us 0 doc p
	cmp -s out.txt first.md || fail "doc changed: $(diff first.md out.txt | head)"
	run_us 0 doc p --dates
	has "$OUT" "- Last answered 20"
	run_us 2 doc nope
	has "$ERR" "no pipeline nope"
}

test_dry_run_answers_from_the_record_and_touches_nothing() {
	write w.lua <<'LUA'
local n = auto("count", function() fs.write("made-by-auto.txt", "x") return 41 end)
local ok = manual("approve", "Go?", { type = "boolean" })
local v = manual("version", "Which?", { default = "1.0" })
print("values", n, ok, v)
if arg[1] == "write" then io.open("made-directly.txt", "w"):close() end
if arg[1] == "exec" then os.execute("touch made-by-exec.txt") end
if arg[1] == "sh" then sh.run{ "touch", "made-by-sh.txt" } end
LUA
	run_us 0 run w.lua --answer approve=y --answer version=2.0
	rm made-by-auto.txt
	run_us 0 run w.lua --dry-run
	same "$OUT" "values	41	true	2.0"
	has "$ERR" "[dry] auto count: would run its code; the last value for these inputs: 41 ("
	has "$ERR" "[dry] manual approve: would ask a person; tester's last answer for these inputs: true ("
	has "$ERR" "dry run 2 of w ok: 3 steps recorded; nothing done, nobody asked"
	[ ! -e made-by-auto.txt ] || fail "the auto step ran"
	# Touching the outside world directly stops it, naming what and where.
	local what
	for what in write exec sh; do
		run_us 1 run w.lua $what --dry-run
		[ -z "$(ls made-*.txt 2>/dev/null)" ] || fail "$what made $(ls made-*.txt)"
	done
	has "$ERR" 'w.lua:7: sh.run: not in a dry run (it would reach the outside world)'
	run_us 1 run w.lua exec --dry-run
	has "$ERR" "w.lua:6: os.execute: not in a dry run"
	run_us 1 run w.lua write --dry-run
	has "$ERR" "w.lua:5: io.open for writing: not in a dry run"
	# Marked dry: left out of report and resume, shown by runs.
	run_us 0 runs --json
	same "$(jq -c '[.[] | .dry]' <<<"$OUT")" "[true,true,true,true,true,true,false]"
	run_us 0 runs
	has "$OUT" "ok (dry run)"
	run_us 0 report w --json
	same "$(jq -c '[.[] | [.step, .executions]] | sort' <<<"$OUT")" '[["approve",1],["count",1],["version",1]]'
	run_us 2 resume 3
	has "$ERR" "resume: run 3 was a dry run"
	# Nothing recorded for these inputs: the default, else the run stops naming the step.
	write d.lua <<'LUA'
print(manual("version", "Which?", { default = "1.0", inputs = { k = 1 } }))
manual("approve", "Go?", { type = "boolean", inputs = { k = 1 } })
LUA
	run_us 1 run d.lua --dry-run
	same "$OUT" "1.0"
	has "$ERR" "[dry] manual version: would ask a person; nothing recorded for these inputs, so its default: \"1.0\""
	has "$ERR" 'step "approve": a dry run cannot go on: nothing recorded for these inputs, and no default'
	lacks "$ERR" "understudy resume"
}

test_dry_run_of_every_example_touches_nothing() {
	httpd_start
	run_us 0 run "$EX/api.lua" "http://127.0.0.1:$PORT" --answers "$EX/api.answers.json"
	run_us 0 run "$EX/release.lua" 1.4 --answers "$EX/release.answers.json"
	run_us 0 run "$EX/runbook.lua" web-3 --answers "$EX/runbook.answers.json"
	run_us 0 run "$EX/labelling.lua" "$EX/data/samples.csv" <"$EX/labelling.answers"
	local requests
	requests=$(wc -l <httpd.log)
	[ "$requests" -ge 2 ] || fail "the api example made $requests requests"
	run_us 0 run "$EX/api.lua" "http://127.0.0.1:$PORT" --dry-run
	same "$OUT" "resnet-b promoted (HTTP 200)"
	same "$(wc -l <httpd.log)" "$requests"
	run_us 0 run "$EX/release.lua" 1.4 --dry-run
	same "$OUT" "model 1.4 serving on prod"
	run_us 0 run "$EX/runbook.lua" web-3 --dry-run
	same "$OUT" "web-3 restarted under CHG-1042"
	run_us 0 run "$EX/labelling.lua" "$EX/data/samples.csv" --dry-run </dev/null
	same "$OUT" '{"discard":1,"keep":3,"relabel":2}'
	same "$(sql "SELECT count(*) FROM runs WHERE dry")" "4"
}
