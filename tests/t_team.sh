# t_team.sh: one history for a team: many runners on one PostgreSQL
# database, a server that goes away, and copies between backends.

test_pg_eight_runners_at_once_lose_nothing() {
	write busy.lua <<'LUA'
for i = 1, 5000 do
  auto("step", function() return i end)
  if i % 1000 == 0 then manual("check", "?", { type = "number" }) end
end
LUA
	local pids=() n
	for n in 1 2 3 4 5 6 7 8; do
		"$UNDERSTUDY" run busy.lua --name "busy$n" --answer check=$n >/dev/null 2>err$n.txt &
		pids+=($!)
	done
	for n in 1 2 3 4 5 6 7 8; do
		wait "${pids[n - 1]}" || fail "runner $n failed: $(cat err$n.txt)"
	done
	same "$(sql "SELECT count(*), count(DISTINCT run), count(DISTINCT run || '/' || seq) FROM steps")" "40040|8|40040"
	same "$(sql "SELECT group_concat(n, ' ') FROM (SELECT count(*) AS n FROM steps WHERE kind = 'manual' GROUP BY run ORDER BY run) AS t")" \
		"5 5 5 5 5 5 5 5"
	same "$(sql "SELECT sum(CAST(output AS INTEGER)) FROM steps WHERE name = 'step'")" "$((8 * 5000 * 5001 / 2))"
	same "$(sql "SELECT count(*) FROM runs WHERE status = 'ok'")" "8"
	run_us 0 report --json
	same "$(jq -r '[.[].executions] | add' <<<"$OUT")" "40040"
}

test_pg_kill_9_at_a_prompt_loses_no_answer() {
	write ask.lua <<'LUA'
for i = 1, 100 do
  local v = manual("answer", "?", { type = "number", inputs = { i = i } })
  print("got " .. i .. " " .. v)
  io.stdout:flush()
end
LUA
	mkfifo in
	"$UNDERSTUDY" run ask.lua <in >seen.txt 2>err.txt &
	local pid=$! i
	exec 3>in
	for i in 1 2 3 4 5 6 7; do echo $((i * 10)) >&3; done
	eventually grep -q '^got 7 70$' seen.txt
	kill -9 $pid
	wait $pid 2>/dev/null
	exec 3>&-
	# Every answer typed is in the history, and the run waits to be resumed.
	same "$(sql "SELECT group_concat(output, ' ') FROM (SELECT output FROM steps ORDER BY id) AS t")" "10 20 30 40 50 60 70"
	same "$(sql "SELECT group_concat(DISTINCT how) FROM steps")" "stdin"
	run_us 0 runs --json
	same "$(jq -r '.[0].status' <<<"$OUT")" "abandoned"
	run_us 0 resume 1 --answer answer=1
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2 AND how = 'replay'")" "7"
}

# The test server is stopped while a run goes on, and started again
# whatever happens (the next tests need it).
test_pg_server_stopped_mid_run_exits_3_with_answers_intact() {
	write stop.lua <<'LUA'
manual("approve", "Ship it?", { type = "boolean" })
auto("build", function() return "built" end)
io.open("ready", "w"):close()
while not io.open("stopped") do time.sleep(0.05) end
manual("replicas", "How many?", { type = "number" })
print("went on")
LUA
	# postgresql: alone is libpq's PG* variables.
	export PGDATABASE=${UNDERSTUDY_DB##*/}
	"$UNDERSTUDY" run stop.lua --db postgresql: --answer approve=y --answer replicas=3 >out.txt 2>err.txt &
	local pid=$! started
	await ready
	trap 'pg_ctlcluster "$PGVERSION" regress start 2>/dev/null' EXIT
	pg_ctlcluster "$PGVERSION" regress stop -m fast || fail "cannot stop the server"
	started=$(date +%s)
	touch stopped
	gone $pid 20
	wait $pid
	same "$?" "3"
	[ $(($(date +%s) - started)) -le 40 ] || fail "exit 3 came $(($(date +%s) - started)) s after the server stopped"
	has "$(cat err.txt)" "history unusable"
	has "$(cat err.txt)" "postgresql://"
	lacks "$(cat err.txt)" "$PGPASSWORD"
	same "$(cat out.txt)" ""
	pg_ctlcluster "$PGVERSION" regress start || fail "cannot start the server again"
	eventually pg_isready -q
	# What was answered before is there, whole.
	same "$(sql "SELECT group_concat(name || '=' || output, ' ') FROM (SELECT * FROM steps ORDER BY id) AS t")" \
		'approve=true build="built"'
	run_us 0 resume 1 --answer replicas=3
	has "$OUT" "went on"
}

test_pg_lost_connection_is_made_again() {
	write wait.lua <<'LUA'
for i = 1, 3 do auto("before", function() return i end) end
manual("approve", "?", { type = "boolean" })
io.open("ready", "w"):close()
while not io.open("go") do time.sleep(0.05) end
for i = 1, 3 do auto("after", function() return i end) end
manual("again", "?", { type = "boolean" })
LUA
	"$UNDERSTUDY" run wait.lua --answer approve=y --answer again=n >out.txt 2>err.txt &
	local pid=$!
	await ready
	same "$(sql "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'understudy' AND pid <> pg_backend_pid()) AS t")" "1"
	touch go
	gone $pid
	wait $pid || fail "the run failed: $(cat err.txt)"
	same "$(sql "SELECT group_concat(name, ' ') FROM (SELECT name FROM steps ORDER BY id) AS t")" \
		"before before before approve after after after again"
	same "$(sql "SELECT status FROM runs")" "ok"
}

# A history with some of everything: manual and auto steps, a secret, a
# candidate, logs, a failed run and its resume.
varied_history() {
	write varied.lua <<'LUA'
local v = manual("version", "Version?", { default = "1.0" })
local tok = manual("token", "Token?", { secret = true })
for i = 1, 3 do
  manual("label", "Label it", { choices = { "cat", "dog" }, inputs = { i = i },
         candidate = function(inp) return inp.i % 2 == 1 and "cat" or "dog" end })
end
log.info("labelled", v)
auto("build", function() return { v = v, n = 3 }, 2.5 end)
if arg[1] == "fail" then error("boom") end
LUA
	local db=$1
	run_us 0 run varied.lua --db "$db" --answer version=1.4 --answer token=s3cret --answer label=cat
	run_us 1 run varied.lua fail --db "$db" --answer version=1.5 --answer token=s3cret --answer label=dog
	run_us 0 run varied.lua --db "$db" --answer version=1.5 --answer token=other --answer label=cat
	echo 'auto("one", function() return 1 end)' | write other.lua
	run_us 0 run other.lua --db "$db"
}

test_copy_round_trip_keeps_every_view() {
	varied_history "$PWD/a.db"
	run_us 0 copy --from "$PWD/a.db" --to "$UNDERSTUDY_DB"
	has "$ERR" "copy: 4 runs, 19 steps, 3 log lines"
	run_us 0 copy --from "$UNDERSTUDY_DB" --to "$PWD/b.db"
	local view
	for view in "export" "export --csv" "runs --json" "show 2 --json" "history varied --json" "report --json" \
	            "report" "suggest varied label --min-runs 1"; do
		"$UNDERSTUDY" $view --db "$PWD/a.db" >a.txt 2>&1
		"$UNDERSTUDY" $view >here.txt 2>&1
		"$UNDERSTUDY" $view --db "$PWD/b.db" >b.txt 2>&1
		[ -s a.txt ] || fail "$view printed nothing"
		cmp -s a.txt here.txt || fail "$view differs after the copy: $(diff a.txt here.txt | head -10)"
		cmp -s a.txt b.txt || fail "$view differs after the copy back: $(diff a.txt b.txt | head -10)"
	done
	# The key came along: a secret answered after the copy compares with those before it.
	run_us 0 run varied.lua --answer version=1.5 --answer token=other --answer label=cat
	run_us 0 report varied --json
	same "$(jq -r '.[] | select(.step == "token") | .reason' <<<"$OUT")" \
		"a secret answer is never automated from the record, and its answers differ (2 different)"
	# New runs are numbered after the copied ones.
	same "$(sql "SELECT max(id) FROM runs")" "5"
}

test_copy_refuses_a_history_with_runs_unless_appending() {
	varied_history "$PWD/a.db"
	echo 'auto("mine", function() return 1 end)' | write mine.lua
	run_us 0 run mine.lua
	run_us 2 copy --from "$PWD/a.db" --to "$UNDERSTUDY_DB"
	has "$ERR" "already holds runs; add --append"
	same "$(sql "SELECT count(*) FROM runs")" "1"
	run_us 0 copy --from "$PWD/a.db" --to "$UNDERSTUDY_DB" --append
	same "$(sql "SELECT count(*), max(id) FROM runs")" "5|5"
	# Numbered after this history's own: run 2 of a.db (the failed one) is run 3 here, and resumes.
	same "$(sql "SELECT status FROM runs WHERE id = 3")" "failed"
	run_us 1 resume 3 --answer token=s3cret   # with its argument "fail", it fails again
	same "$(sql "SELECT count(*) FROM steps s JOIN steps o ON o.id = s.replay_of WHERE s.run = 6 AND o.run = 3")" "5"
	run_us 2 copy --from "$PWD/a.db"
	has "$ERR" "both --from DB and --to DB are needed"
	run_us 2 copy --from "$PWD/a.db" --to "$PWD/a.db"
	has "$ERR" "the same history"
	run_us 3 copy --from "$PWD/none.db" --to "$PWD/c.db"
	has "$ERR" "no history here yet"
}

# The grants README's "Team history" gives an operator are enough, taken from README itself.
test_pg_an_operator_needs_only_the_readme_grants() {
	local db=${UNDERSTUDY_DB##*/} role="op_${UNDERSTUDY_DB##*/}"
	echo 'manual("approve", "?", { type = "boolean" }); auto("a", function() return 1 end); log.info("hi")' | write s.lua
	run_us 0 run s.lua --answer approve=y   # the owner's first run makes the tables
	sql "CREATE ROLE $role LOGIN PASSWORD 'op-pass'; GRANT CONNECT ON DATABASE $db TO $role" >/dev/null
	local grants
	grants=$(sed -n '/^GRANT SELECT, INSERT, UPDATE ON/p; /^GRANT USAGE ON ALL SEQUENCES/p' "$TESTS/../README.md")
	[ "$(wc -l <<<"$grants")" = 2 ] || fail "README's grants not found: $grants"
	sql "${grants//operators/$role}" >/dev/null
	PGPASSWORD=op-pass run_us 0 run s.lua --answer approve=n --db "postgresql://$role@$PGHOST:${PGPORT:-5432}/$db" --operator op
	same "$(sql "SELECT group_concat(operator, ' ') FROM (SELECT operator FROM steps ORDER BY id) AS t")" "tester tester op op"
	PGPASSWORD=op-pass run_us 0 report --db "postgresql://$role@$PGHOST:${PGPORT:-5432}/$db"
	sql "DROP OWNED BY $role; DROP ROLE $role" >/dev/null
}

test_copy_shows_its_progress() {
	echo 'for i = 1, 100001 do auto("s", function() return i end) end' | write many.lua
	run_us 0 run many.lua --db "$PWD/a.db"
	run_us 0 copy --from "$PWD/a.db" --to "$UNDERSTUDY_DB"
	has "$ERR" "copy: 100000 steps..."
	has "$ERR" "copy: 1 run, 100001 steps, 0 log lines from $PWD/a.db to "
	same "$(sql "SELECT count(*), sum(CAST(output AS INTEGER)) FROM steps")" "100001|$((100001 * 100002 / 2))"
}

# A server that takes the connection and never answers: exit 3 within
# libpq's connect_timeout, 10 s unless the URI says otherwise.
test_pg_a_server_that_never_answers_gives_exit_3_in_time() {
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open("port", "w").write(str(s.getsockname()[1])); sys.stdout.flush()
conns = []
while True: conns.append(s.accept())' &
	local server=$! started took
	trap 'kill $server 2>/dev/null' EXIT
	await port
	echo 'print("ran")' | write s.lua
	started=$(date +%s)
	run_us 3 run s.lua --db "postgresql://nobody@127.0.0.1:$(cat port)/team"
	took=$(($(date +%s) - started))
	# Bounds on behaviour, not speed: the default timeout applied, and nothing hung.
	[ "$took" -ge 9 ] && [ "$took" -le 40 ] || fail "exit 3 came after $took s, not after the 10 s timeout"
	has "$ERR" "postgresql://nobody@127.0.0.1:$(cat port)/team: cannot connect"
	same "$OUT" ""
	started=$(date +%s)
	run_us 3 runs --db "postgresql://nobody@127.0.0.1:$(cat port)/team?connect_timeout=2"
	took=$(($(date +%s) - started))
	[ "$took" -lt 9 ] || fail "the URI's connect_timeout=2 took $took s: the default won"
	# Interrupted while it waits: the message names the history without its password.
	"$UNDERSTUDY" run s.lua --db "postgresql://nobody:hunter2secret@127.0.0.1:$(cat port)/team" >out.txt 2>err.txt &
	local pid=$!
	sleep 1
	kill -INT $pid
	gone $pid
	wait $pid
	same "$?" "130"
	has "$(cat err.txt)" "interrupted while waiting for the history postgresql://127.0.0.1:$(cat port)/team"
	lacks "$(cat err.txt)" "hunter2secret"
}

# A copy that fails half way leaves the history usable: new runs and steps
# take ids past the ones it set aside.
test_pg_a_failed_copy_leaves_the_ids_right() {
	echo 'for i = 1, 1500 do auto("s", function() return i end) end' | write many.lua
	run_us 0 run many.lua --db "$PWD/a.db"
	# A step that points at a step that is not there: PostgreSQL's key refuses it, after 1,000 were committed.
	sqlite3 a.db "UPDATE steps SET replay_of = 999999 WHERE id = 1400"
	run_us 3 copy --from "$PWD/a.db" --to "$UNDERSTUDY_DB"
	has "$ERR" "what was copied so far stays in it"
	echo 'manual("ok", "?", { type = "boolean" }); auto("after", function() return 1 end)' | write q.lua
	run_us 0 run q.lua --answer ok=y
	run_us 0 run q.lua --answer ok=n
	same "$(sql "SELECT group_concat(name || '=' || output, ' ') FROM (SELECT s.name, s.output FROM steps s
		JOIN runs r ON r.id = s.run WHERE r.pipeline = 'q' ORDER BY s.id) AS t")" "ok=true after=1 ok=false after=1"
}

# The connection fails after the server committed a write, before its
# answer came: the write is not sent again, so nothing is there twice.
test_pg_a_write_committed_before_the_connection_failed_is_not_sent_again() {
	python3 "$TESTS/cutproxy.py" proxy.port "${PGHOST:-localhost}" "${PGPORT:-5432}" 2>proxy.err &
	local proxy=$!
	trap 'kill $proxy 2>/dev/null' EXIT
	await proxy.port
	write cut.lua <<'LUA'
auto("a", function() return 1 end)
log.info("before")
io.open("cut", "w"):close()   -- the steps so far are committed first; the next write's answer is lost
log.info("after")
auto("b", function() return 2 end)
LUA
	run_us 0 run cut.lua --db "postgresql://$PGUSER@127.0.0.1:$(cat proxy.port)/${UNDERSTUDY_DB##*/}"
	[ ! -e cut ] || fail "the proxy never cut the connection"
	same "$(sql "SELECT group_concat(message, ' ') FROM (SELECT message FROM logs ORDER BY id) AS t")" "before after"
	same "$(sql "SELECT group_concat(name, ' ') FROM (SELECT name FROM steps ORDER BY id) AS t")" "a b"
	same "$(sql "SELECT count(*), max(status) FROM runs")" "1|ok"
	# The same when the run's own row was the write: one run, not an empty second one.
	touch cut-insert
	run_us 0 run cut.lua --db "postgresql://$PGUSER@127.0.0.1:$(cat proxy.port)/${UNDERSTUDY_DB##*/}"
	[ ! -e cut-insert ] || fail "the proxy never cut the connection"
	same "$(sql "SELECT count(*), count(*) FILTER (WHERE status = 'ok') FROM runs")" "2|2"
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2")" "2"
}
