# t_record.sh: the history file: where it lives, its schema, what is refused and left untouched.

test_sqlite_schema_wal_and_version() {
	echo 'auto("a", function() return 1 end)' | write s.lua
	run_us 0 run s.lua
	same "$(sql "PRAGMA journal_mode")" "wal"
	same "$(sql "PRAGMA user_version")" "7"
	same "$(sql "PRAGMA application_id")" "1431529577"
	same "$(sql "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name) AS t")" "logs,offers,runs,settings,step_totals,steps,waits"
	same "$(sql "PRAGMA integrity_check")" "ok"
}

test_run_row_facts() {
	echo 'auto("a", function() return 1 end)' | write deploy.lua
	run_us 0 run deploy.lua 1.4 "two words" --operator alice
	same "$(sql "SELECT pipeline, script, args, operator, status, pid > 0, resumed_from IS NULL FROM runs")" \
		'deploy|deploy.lua|["1.4","two words"]|alice|ok|1|1'
	same "$(sql "SELECT script_hash FROM runs")" "$(sha256sum deploy.lua | cut -d' ' -f1)"
	same "$(sql "SELECT host FROM runs")" "$(uname -n)"
	same "$(sql "SELECT started_at <= finished_at FROM runs")" "1"
	# SQLite keeps times as ISO-8601 text; PostgreSQL as timestamptz.
	on_pg || same "$(sql "SELECT started_at LIKE '____-__-__T__:__:__.___Z' FROM runs")" "1"
	same "$(sql "SELECT operator FROM steps")" "alice"
	run_us 0 run deploy.lua --name release
	same "$(sql "SELECT pipeline, args, operator FROM runs WHERE id = 2")" "release|[]|tester"
}

test_default_location_and_modes() {
	unset UNDERSTUDY_DB
	echo 'auto("a", function() return 1 end)' | write s.lua
	XDG_STATE_HOME="$PWD/state" "$UNDERSTUDY" run s.lua 2>/dev/null || fail "run failed"
	test -f state/understudy/history.db || fail "not in \$XDG_STATE_HOME/understudy"
	same "$(stat -c %a state/understudy)" "700"
	same "$(stat -c %a state/understudy/history.db)" "600"
	"$UNDERSTUDY" run s.lua 2>/dev/null || fail "run failed"
	test -f "$HOME/.local/state/understudy/history.db" || fail "not in ~/.local/state/understudy"
	same "$(stat -c %a "$HOME/.local/state/understudy/history.db")" "600"
	UNDERSTUDY_DB="$PWD/env.db" "$UNDERSTUDY" run s.lua 2>/dev/null || fail "run failed"
	test -f env.db || fail "\$UNDERSTUDY_DB not used"
	UNDERSTUDY_DB="$PWD/env.db" "$UNDERSTUDY" run s.lua --db "$PWD/flag.db" 2>/dev/null || fail "run failed"
	test -f flag.db || fail "--db not used"
	same "$(sqlite3 env.db "SELECT count(*) FROM runs")" "1"
}

# Each unusable history: exit 3, nothing run, the file byte for byte the same.
refused() {
	local file=$1 why=$2 before
	before=$(sha256sum "$file")
	printf 'io.open("ran", "w"):close()\nmanual("x", "would be lost")\n' | write s.lua
	run_us 3 run s.lua --db "$file" --answer x=
	has "$ERR" "$why"
	test ! -e ran || fail "the script ran against an unusable history"
	same "$(sha256sum "$file")" "$before"
}

test_corrupt_file_refused_and_untouched() {
	head -c 5000 /dev/urandom >junk.db
	refused junk.db "not a usable SQLite database"
	printf 'just some notes\n' >notes.txt
	refused notes.txt "left untouched"
	run_us 3 runs --db notes.txt
}

test_other_sqlite_database_refused() {
	sqlite3 other.db "CREATE TABLE invoices (id INTEGER); INSERT INTO invoices VALUES (7)"
	refused other.db "not an understudy history"
	same "$(sqlite3 other.db "SELECT id FROM invoices")" "7"
}

test_newer_schema_refused() {
	echo 'auto("a", function() return 1 end)' | write ok.lua
	run_us 0 run ok.lua --db new.db
	sqlite3 new.db "PRAGMA user_version = 99"
	refused new.db "written by a newer understudy (schema 99"
}

test_history_that_cannot_be_created() {
	echo 'print("ran")' | write s.lua
	touch afile
	run_us 3 run s.lua --db afile/sub/history.db
	has "$ERR" "cannot create"
	same "$OUT" ""
	run_us 3 runs --db nowhere.db
	has "$ERR" "no history here yet"
	test ! -e nowhere.db || fail "runs created a history"
}

test_views_runs_show_history() {
	write p.lua <<'LUA'
local n = manual("count", "How many?", { type = "number", inputs = { batch = arg[1] } })
auto("double", function() return n * 2 end)
LUA
	run_us 0 run p.lua A --answer count=2
	run_us 0 run p.lua B --answer count=5
	echo 'auto("x", function() return 1 end)' | write other.lua
	run_us 0 run other.lua
	run_us 0 runs
	same "$(sed -n 1p out.txt | tr -s ' ')" "RUN PIPELINE STATUS STARTED STEPS OPERATOR RESUMED FROM"
	same "$(awk 'NR > 1 { print $1 }' out.txt | tr '\n' ' ')" "3 2 1 "
	run_us 0 runs p --json
	same "$(jq -c '[.[] | [.id, .pipeline, .status, .steps, .resumed_from]]' <<<"$OUT")" '[[2,"p","ok",2,null],[1,"p","ok",2,null]]'
	same "$(jq -r '.[0] | (has("started_at") and has("finished_at"))' <<<"$OUT")" "true"
	run_us 0 show 2
	has "$OUT" "run 2 of p: ok"
	has "$OUT" "count   manual  flag  ok      5"
	has "$OUT" "double  auto    run   ok      10"
	run_us 0 show 2 --json
	same "$(jq -c '[.id, .pipeline, .status, .error, .resumed_from]' <<<"$OUT")" '[2,"p","ok",null,null]'
	same "$(jq -c '.steps[0] | [.seq, .name, .occurrence, .kind, .how, .status, .inputs, .output, .error, .candidate_output, .candidate_agrees]' <<<"$OUT")" \
		'[1,"count",1,"manual","flag","ok",{"batch":"B"},5,null,null,null]'
	same "$(jq -r '.steps[1].duration_ms | type' <<<"$OUT")" "number"
	run_us 0 history p count --json
	same "$(jq -c '[.[] | [.run, .seq, .name, .output, .inputs.batch]]' <<<"$OUT")" '[[1,1,"count",2,"A"],[2,1,"count",5,"B"]]'
	same "$(jq -r '.[0] | [has("occurrence"), has("kind"), has("how"), has("status"), has("duration_ms"), has("started_at")] | all' <<<"$OUT")" "true"
	run_us 0 history p
	same "$(grep -c double out.txt)" "2"
	run_us 2 show 99
	has "$ERR" "no run 99"
	run_us 2 show abc
	has "$ERR" "RUN must be a run number, not 'abc'"
	run_us 2 history nope
	has "$ERR" "no pipeline nope"
	run_us 2 history p nostep
	has "$ERR" 'no step "nostep" recorded in pipeline p'
	# An unknown pipeline is a usage error everywhere, naming the one meant or those there are.
	run_us 2 runs none --json
	has "$ERR" "runs: no pipeline none in "
	has "$ERR" "; its pipelines: "
	run_us 2 report P
	has "$ERR" "report: no pipeline P in "
	has "$ERR" "; did you mean p?"
}

test_many_auto_steps_all_recorded() {
	echo 'for i = 1, 5000 do auto("s", function() return i end) end' | write many.lua
	run_us 0 run many.lua
	same "$(sql "SELECT count(*), sum(CAST(output AS INTEGER)), max(occurrence) FROM steps")" "5000|12502500|5000"
}

test_pg_schema_version_and_tables() {
	echo 'auto("a", function() return 1 end)' | write s.lua
	run_us 0 run s.lua
	same "$(sql "SELECT value FROM understudy_meta WHERE key = 'schema_version'")" "7"
	same "$(sql "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = current_schema()")" \
		"logs,offers,runs,step_totals,steps,understudy_meta,waits"
	# backup is SQLite's: a PostgreSQL history points at pg_dump and copy.
	run_us 2 backup saved.db
	has "$ERR" "pg_dump"
	has "$ERR" "copy --from"
	[ ! -e saved.db ] || fail "backup wrote a file"
	# A newer schema is refused and left untouched.
	sql "UPDATE understudy_meta SET value = '99' WHERE key = 'schema_version'"
	run_us 3 run s.lua
	has "$ERR" "written by a newer understudy (schema 99; this one knows 7); left untouched"
	same "$(sql "SELECT count(*) FROM runs")" "1"
	# The history is named without its password, whatever the URI held.
	run_us 3 runs --db "postgresql://nobody:hunter2secret@127.0.0.1:1/nowhere?connect_timeout=2"
	has "$ERR" "postgresql://nobody@127.0.0.1:1/nowhere"
	lacks "$ERR" "hunter2secret"
	# A password that libpq cannot tell from the host and port, and one given twice to copy.
	run_us 3 runs --db "postgresql://nobody:pa/ss99word@127.0.0.1:1/nowhere"
	lacks "$ERR" "ss99word"
	lacks "$ERR" "pa/"
	run_us 2 copy --from "postgresql://nobody:hunter2secret@127.0.0.1:1/x" --to "postgresql://nobody:hunter2secret@127.0.0.1:1/x"
	has "$ERR" "the same history (postgresql://127.0.0.1:1/x)"
	lacks "$ERR" "hunter2secret"
}

test_runs_limit_and_idle_repl_sessions() {
	echo 'auto("a", function() return 1 end)' | write a.lua
	local i
	for i in 1 2 3; do run_us 0 run a.lua; done
	echo 'x = 1' | "$UNDERSTUDY" repl >/dev/null 2>&1 || fail "the repl failed"
	# A REPL session that recorded nothing is left out, unless --all.
	run_us 0 runs --json
	same "$(jq -c '[.[].id]' <<<"$OUT")" "[3,2,1]"
	run_us 0 runs --all --json
	same "$(jq -c '[.[].id]' <<<"$OUT")" "[4,3,2,1]"
	run_us 0 runs --limit 2
	same "$(wc -l <out.txt)" 3
	has "$ERR" "(1 older run not shown: --limit N shows N, --limit 0 all)"
	run_us 0 runs --limit 0 --json
	same "$(jq length <<<"$OUT")" 3
	run_us 2 runs --limit many
	has "$ERR" "--limit needs a whole number from 0, not 'many'"
}

test_times_are_shown_in_local_time_with_their_zone() {
	echo 'auto("a", function() return 1 end)' | write a.lua
	run_us 0 run a.lua
	local utc
	utc=$(sql "SELECT started_at FROM runs")
	TZ=UTC run_us 0 runs
	has "$OUT" "$(date -u -d "$utc" '+%Y-%m-%d %H:%M:%S') UTC"
	TZ=Europe/Berlin run_us 0 runs
	has "$OUT" "$(TZ=Europe/Berlin date -d "$utc" '+%Y-%m-%d %H:%M:%S %Z')"
	TZ=America/New_York run_us 0 show 1
	has "$OUT" "started  $(TZ=America/New_York date -d "$utc" '+%Y-%m-%d %H:%M:%S %Z')"
	# JSON keeps the record's UTC.
	run_us 0 runs --json
	has "$(jq -r '.[0].started_at' <<<"$OUT")" "$(date -u -d "$utc" '+%Y-%m-%dT%H:%M:%S')"
}

test_a_history_of_schema_3_is_brought_up_to_date() {
	write s.lua <<'LUA'
auto("a", function() return 1 end)
manual("b", "?", { type = "number" })
LUA
	run_us 0 run s.lua --answer b=1
	run_us 0 run s.lua --answer b=2
	# As schema 3 left it: no dry column, no step totals.
	if on_pg; then
		sql "ALTER TABLE runs DROP COLUMN dry; DROP TABLE step_totals;
			UPDATE understudy_meta SET value = '3' WHERE key = 'schema_version'"
	else
		sql "ALTER TABLE runs DROP COLUMN dry; DROP TABLE step_totals; DROP INDEX steps_audits;
			DROP INDEX steps_counts; CREATE INDEX steps_counts ON steps(pipeline, name, kind, how);
			PRAGMA user_version = 3"
	fi
	run_us 0 run s.lua --dry-run
	run_us 0 runs --json
	same "$(jq -c '[.[] | [.id, .dry]]' <<<"$OUT")" '[[3,true],[2,false],[1,false]]'
	if on_pg; then
		same "$(sql "SELECT value FROM understudy_meta WHERE key = 'schema_version'")" "7"
	else
		same "$(sql "PRAGMA user_version")" "7"
		same "$(sql "SELECT group_concat(name || ':' || sql, ' / ') FROM (SELECT name, sql FROM sqlite_master
			WHERE name IN ('steps_counts', 'steps_audits') ORDER BY name)")" \
			"steps_audits:CREATE INDEX steps_audits ON steps(pipeline, name) WHERE how = 'audit' / steps_counts:CREATE INDEX steps_counts ON steps(pipeline, name)"
	fi
	# The totals were counted from the auto steps there were (people's answers are
	# counted from their rows); a new run adds to them.
	same "$(sql "SELECT name || ':' || auto_executions FROM step_totals")" "a:2"
	run_us 0 run s.lua --answer b=3
	same "$(sql "SELECT name || ':' || auto_executions FROM step_totals")" "a:3"
	run_us 0 report s --json
	same "$(jq -c '[.[] | [.step, .executions, .manual_executions, .kind]] | sort' <<<"$OUT")" '[["a",3,0,"auto"],["b",3,3,"manual"]]'
}
