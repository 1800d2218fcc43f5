# t_resume.sh: resume, crashes, concurrent runs, secrets, a history that fills up.

# res.lua: two manual and two auto steps, then one that fails until the file "ready" exists.
resume_pipeline() {
	write res.lua <<'LUA'
local a = manual("a", "A?", { type = "string" })
local b = auto("b", function() return a .. "-b" end)
local c = manual("c", "C?", { type = "number" })
local d = auto("d", function()
  if not io.open("ready") then error("not ready yet") end
  return c * 2
end)
local e = manual("e", "E?", { type = "string" })
print(a, b, c, d, e, ...)
LUA
}

test_resume_replays_finished_steps() {
	resume_pipeline
	run_us 1 run res.lua one two --answer a=x --answer c=3
	has "$ERR" "understudy resume 1"
	touch ready
	# Nothing is asked again: stdin is closed and no answers are given for a and c.
	run_us 0 resume 1 --answer e=E
	same "$OUT" "x	x-b	3	6	E	one	two"
	same "$(sql "SELECT resumed_from, args, status FROM runs WHERE id = 2")" '1|["one","two"]|ok'
	same "$(sql "SELECT group_concat(name || ':' || how, ' ') FROM (SELECT * FROM steps WHERE run = 2 ORDER BY seq) AS t")" \
		"a:replay b:replay c:replay d:run e:flag"
	same "$(sql "SELECT count(*) FROM steps s JOIN steps o ON o.id = s.replay_of WHERE s.run = 2 AND o.run = 1 AND o.name = s.name AND o.output = s.output")" "3"
	same "$(us show 2 --json | jq -c '[.resumed_from, [.steps[] | .how]]')" '[1,["replay","replay","replay","run","flag"]]'
	run_us 2 resume 2
	has "$ERR" "run 2 finished ok; there is nothing to resume"
}

test_resume_chains() {
	resume_pipeline
	touch ready
	run_us 130 run res.lua --answer a=x --answer c=3
	run_us 130 resume 1
	has "$ERR" 'end of input at step "e"'
	run_us 0 resume 2 --answer e=done
	same "$OUT" "x	x-b	3	6	done"
	# Replays of replays point at the step that really ran.
	same "$(sql "SELECT group_concat(x, ' ') FROM (SELECT o.run || o.how AS x FROM steps s JOIN steps o ON o.id = s.replay_of WHERE s.run = 3 ORDER BY s.seq) AS t")" \
		"1flag 1run 1flag 1run"
	same "$(sql "SELECT resumed_from FROM runs WHERE id = 3")" "2"
}

test_resume_refusals() {
	resume_pipeline
	run_us 2 resume 7
	has "$ERR" "no run 7"
	run_us 2 resume x
	has "$ERR" "RUN must be a run number, not 'x'"
	run_us 2 resume
	has "$ERR" "usage: understudy resume RUN"
	# A run that is still waiting at a prompt.
	mkfifo wait
	sleep 30 >wait &
	local keeper=$!
	"$UNDERSTUDY" run res.lua --answer a=x <wait >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 100); do [ "$(sql "SELECT count(*) FROM steps" 2>/dev/null)" = 2 ] && break; sleep 0.05; done
	run_us 2 resume 1
	has "$ERR" "run 1 is still running (pid $pid on $(uname -n))"
	run_us 0 runs --json
	same "$(jq -r '.[0].status' <<<"$OUT")" "running"
	# Killed: it is abandoned, and can be resumed.
	kill -9 $pid
	wait $pid 2>/dev/null
	kill $keeper
	run_us 0 runs --json
	same "$(jq -r '.[0].status' <<<"$OUT")" "abandoned"
	run_us 0 runs
	has "$OUT" "abandoned"
	touch ready
	run_us 0 resume 1 --answer c=4 --answer e=E
	same "$OUT" "x	x-b	4	8	E"
	same "$(sql "SELECT group_concat(how, ' ') FROM (SELECT * FROM steps WHERE run = 2 ORDER BY seq) AS t")" "replay replay flag run flag"
}

test_resume_after_the_script_changed() {
	resume_pipeline
	run_us 1 run res.lua --answer a=x --answer c=3
	sed -i 's/local c = manual("c"/local c = manual("c2"/' res.lua
	touch ready
	run_us 0 resume 1 --answer c2=5 --answer e=E
	has "$ERR" "res.lua changed since run 1"
	has "$ERR" 'the script no longer matches run 1 at step 3 (it had "c" #1, now "c2" #1): replay stops'
	same "$OUT" "x	x-b	5	10	E"
	same "$(sql "SELECT group_concat(how, ' ') FROM (SELECT * FROM steps WHERE run = 2 ORDER BY seq) AS t")" "replay replay flag run flag"
}

test_resume_reruns_values_it_could_not_record() {
	write odd.lua <<'LUA'
local f = auto("f", function() io.open("f-ran", "a"):write("x"):close(); return print end)
local s = manual("token", "Token?", { secret = true })
auto("boom", function() if not io.open("ready") then error("later") end end)
print(type(f), #s)
LUA
	run_us 1 run odd.lua --answer token=abc
	touch ready
	run_us 0 resume 1 --answer token=abcd
	same "$OUT" "function	4"
	has "$ERR" 'step "f" runs again: its value could not be recorded'
	has "$ERR" 'step "token" runs again: its value is secret and was never stored'
	same "$(cat f-ran)" "xx"
}

test_kill_9_loses_no_answer() {
	write long.lua <<'LUA'
for i = 1, 400 do
  local v = manual("answer", "?", { type = "number", inputs = { i = i } })
  print("got " .. i .. " " .. v)
  io.stdout:flush()
  for j = 1, 20 do auto("work", function() return i * j end) end
  time.sleep(0.003)   -- the run lasts longer than the longest wait before the kill
end
LUA
	local round pid
	for round in $(seq 12); do
		history_reset
		"$UNDERSTUDY" run long.lua --answer answer=7 >seen.txt 2>/dev/null &
		pid=$!
		sleep "0.$((RANDOM % 4 + 1))$((RANDOM % 10))"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		same "$(intact)" "ok"
		# Every answer the script saw is in the record.
		local seen recorded
		seen=$(grep -c '^got ' seen.txt)
		recorded=$(sql "SELECT count(*) FROM steps WHERE name = 'answer'" 2>/dev/null || echo 0)
		[ "$recorded" -ge "$seen" ] || fail "round $round: the script saw $seen answers, the record has $recorded"
	done
	# The last killed run resumes to the end without asking anything.
	run_us 0 resume 1 --answer answer=7
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2 AND name = 'answer'")" "400"
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2 AND name = 'answer' AND how = 'replay'")" "$(sql "SELECT count(*) FROM steps WHERE run = 1 AND name = 'answer'")"
}

test_concurrent_runs_lose_nothing() {
	write busy.lua <<'LUA'
for i = 1, 3000 do
  auto("step", function() return i end)
  if i % 500 == 0 then manual("check", "?", { type = "number" }) end
end
LUA
	local pids="" n
	for n in 1 2 3 4; do
		"$UNDERSTUDY" run busy.lua --name "busy$n" --answer check=$n >/dev/null 2>err$n.txt &
		pids="$pids $!"
	done
	for n in $pids; do wait $n || fail "a run failed: $(cat err*.txt | grep -v '^\[ok\]' | head -5)"; done
	same "$(sql "SELECT count(*) FROM steps")" "12024"
	same "$(sql "SELECT group_concat(n, ' ') FROM (SELECT count(*) AS n FROM steps GROUP BY run ORDER BY run) AS t")" "3006 3006 3006 3006"
	same "$(sql "SELECT count(*) FROM runs WHERE status = 'ok'")" "4"
	same "$(sql "SELECT count(DISTINCT run || '/' || seq) FROM steps")" "12024"
	if grep -l "locked" err*.txt; then fail "database is locked"; fi
}

test_secret_never_leaks() {
	write sec.lua <<'LUA'
local pin = manual("pin", "PIN?", { type = "number", secret = true })
local cfg = manual("cfg", "Config?", { type = "json", secret = true })
print("ok", pin + 1)
LUA
	# Wrong answers are asked again without repeating what was typed.
	printf 'hunter2x\n4242\n{"pw": "sw0rdfish"\n\n{"pw": "sw0rdfish"}\n' | "$UNDERSTUDY" run sec.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "ok	4243"
	has "$(cat err.txt)" 'not a number: "(hidden)"'
	run_us 2 run sec.lua --answer pin=hunter2y
	has "$ERR" "(hidden)"
	sqlite3 "$UNDERSTUDY_DB" "PRAGMA wal_checkpoint" >/dev/null
	for f in "$UNDERSTUDY_DB"* out.txt err.txt "$PWD/out.txt"; do
		if grep -a -q -e hunter2 -e 4242 -e sw0rdfish "$f"; then fail "a secret is in $f"; fi
	done
	us export sec >export.txt
	same "$(jq -r 'select(.secret) | .name' export.txt | sort | tr '\n' ' ')" "cfg pin "
	if grep -a -q -e 4242 -e sw0rdfish export.txt; then fail "a secret is in the export"; fi
}

test_sqlite_full_disk_loses_no_typed_answer() {
	write big.lua <<'LUA'
local note = manual("note", "Paste the long note", { type = "string" })
print("continued", #note)
LUA
	run_us 0 run big.lua --answer note=short
	local long
	long="$(head -c 300000 /dev/zero | tr '\0' 'n')END"
	# A file size limit makes the history's files unable to grow: like a full disk.
	# stderr goes through a pipe to a process outside the limit, so it can hold the answer.
	(trap '' XFSZ; ulimit -f 200; printf '%s\n' "$long" | "$UNDERSTUDY" run big.lua 2>&1 >out.txt; echo "exit $?") |
		cat >err.txt
	same "$(tail -n 1 err.txt)" "exit 3"
	same "$(cat out.txt)" ""
	has "$(cat err.txt)" 'the answer to "note" was not recorded; it was: "nnnn'
	has "$(cat err.txt)" 'END"'
	same "$(sql "PRAGMA integrity_check")" "ok"
	# A script that catches the failure still ends with 3; what it caught reads as text.
	write big.lua <<'LUA'
local ok, e = pcall(manual, "note", "Paste the long note", { type = "string" })
print("caught", ok, tostring(e):match("^history unusable") ~= nil)
LUA
	(trap '' XFSZ; ulimit -f 200; printf '%s\n' "$long" | "$UNDERSTUDY" run big.lua 2>&1 >out.txt; echo "exit $?") |
		cat >err.txt
	same "$(tail -n 1 err.txt)" "exit 3"
	same "$(cat out.txt)" "caught	false	true"
}

test_secret_answers_keep_a_keyed_hash() {
	echo 'manual("token", "Token?", { secret = true })' | write tok.lua
	local v
	for v in s3cret s3cret other; do run_us 0 run tok.lua --answer token=$v; done
	same "$(sql "SELECT count(*), count(DISTINCT secret_hash), max(length(secret_hash)) FROM steps")" "3|2|64"
	# The key: a file of its own beside an SQLite history; in a PostgreSQL one, shared by every runner.
	if on_pg; then
		same "$(sql "SELECT length(value) FROM understudy_meta WHERE key = 'secret_key'")" "64"
	else
		same "$(stat -c %a "$UNDERSTUDY_DB-key")" "600"
	fi
	# Keyed: a plain SHA-256 of the answer is not what is stored.
	lacks "$(sql "SELECT group_concat(secret_hash) FROM steps")" "$(printf '"s3cret"' | sha256sum | cut -d' ' -f1)"
	run_us 0 report tok --min-runs 2 --json
	same "$(jq -r '.[0].verdict' <<<"$OUT")" "secret"
	has "$(jq -r '.[0].reason' <<<"$OUT")" "its answers differ (2 different)"
}

test_review_fixes_resume() {
	# A resumed run records a path that resolves from anywhere: resume it again from elsewhere.
	mkdir -p a b c
	printf 'manual("x", "?", { type = "number" })\nauto("y", function() if not io.open(os.getenv("READY") or "") then error("later") end end)\n' >a/p.lua
	(cd a && "$UNDERSTUDY" run p.lua --answer x=1 >/dev/null 2>&1); same "$?" "1"
	(cd b && "$UNDERSTUDY" resume 1 >/dev/null 2>&1); same "$?" "1"
	touch ready
	(cd c && READY="$PWD/../ready" "$UNDERSTUDY" resume 2 >out.txt 2>err.txt) || fail "resume from c: $(cat c/err.txt)"
	same "$(sql "SELECT group_concat(how, ' ') FROM (SELECT * FROM steps WHERE run = 3 ORDER BY seq) AS t")" "replay run"
	# A REPL session has no script to run again.
	sleep 5 | "$UNDERSTUDY" repl >/dev/null 2>&1 &
	local pid i
	for i in $(seq 100); do [ "$(sql "SELECT count(*) FROM runs WHERE pipeline = 'repl'" 2>/dev/null)" = 1 ] && break; sleep 0.05; done
	pid=$(sql "SELECT pid FROM runs WHERE pipeline = 'repl'")
	kill -9 "$pid"
	wait "$pid" 2>/dev/null   # gone, not only signalled
	run_us 2 resume 4
	has "$ERR" "run 4 was a REPL session without a script"
}

test_review_fixes_steps() {
	# A number answer with a NUL in it, many times over at a terminal, then a good one. At the
	# terminal's line editor Ctrl-@ is not text (it sets the mark): "1x" is asked again each time.
	echo 'print(manual("n", "?", { type = "number" }))' | write n.lua
	pty "$(for i in $(seq 40); do printf 'expect [number]> \\nsendline 1\\\\x00x\\n'; done)expect [number]> \\nsendline 5\\n" run n.lua
	same "$CODE" "0"
	has "$OUT" "5"
	same "$(grep -c 'not a number' pty.txt)" "40"
	# From standard input the NUL arrives, and is refused.
	printf '1\0x\n5\n' >nul.txt
	run_us 0 run n.lua <nul.txt
	has "$ERR" "the answer holds a NUL byte"
	same "$OUT" "5"
	# An error caught by the script does not lend its exit code to a later one.
	write caught.lua <<'LUA'
print(pcall(manual, "x", "?", { type = "number" }))
error("a later failure")
LUA
	run_us 1 run caught.lua --answer x=abc
	has "$ERR" "caught.lua:2: a later failure"
	has "$ERR" "stack traceback"
	# Ctrl-C (here SIGTERM) while a candidate runs stops the run.
	write cand.lua <<'LUA'
manual("slow", "?", { type = "number", candidate = function()
  io.open("candidate-running", "w"):close()
  while true do end
end })
LUA
	"$UNDERSTUDY" run cand.lua >out.txt 2>err.txt &
	local pid=$! i
	for i in $(seq 100); do [ -e candidate-running ] && break; sleep 0.05; done
	kill -TERM $pid
	wait $pid
	same "$?" "143"
	same "$(sql "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" "interrupted"
	# sh: a long timeout is a long timeout.
	echo 'print(sh("echo fine", { timeout = 2e6 }).stdout, pcall(sh, "true", { timeout = 1e9 }))' | write t.lua
	run_us 0 run t.lua
	has "$OUT" "fine"
	has "$OUT" "timeout must be above 0 and at most 2073600 s"
}

test_resume_from_a_step_answers_it_anew() {
	write ship.lua <<'LUA'
local v = manual("version", "Version?", { default = "1.0" })
local built = auto("build", function() io.open("built", "a"):write("x"):close() return "dist-" .. v end)
local ok = manual("sign-off", "Ship " .. built .. "?", { type = "boolean" })
if not ok then error("not signed off", 0) end
print("shipped " .. built)
LUA
	run_us 1 run ship.lua --answer version=1.4 --answer sign-off=n
	# error(message, 0): the message, no traceback.
	has "$ERR" "understudy: not signed off"
	lacks "$ERR" "stack traceback"
	# An --answer for a step the run answered once replaces that answer; what came before is replayed.
	run_us 0 resume 1 --answer sign-off=y
	has "$ERR" 'step "sign-off" is answered anew by --answer: replay stops here, the rest runs live'
	same "$OUT" "shipped dist-1.4"
	same "$(cat built)" "x"
	same "$(sql "SELECT group_concat(name || ':' || how, ' ') FROM (SELECT name, how FROM steps WHERE run = 2 ORDER BY seq) AS t")" \
		"version:replay build:replay sign-off:flag"
	# The same answer as recorded is replayed: answering every step again redoes nothing.
	run_us 1 resume 1 --force --answer version=1.4 --answer sign-off=n
	lacks "$ERR" "answered anew"
	same "$(sql "SELECT group_concat(how, ' ') FROM (SELECT how FROM steps WHERE run = 3 ORDER BY seq) AS t")" \
		"replay replay replay"
	# A step answered in a loop keeps its replays (the --answer is for the occurrences still to come) ...
	write loop.lua <<'LUA'
local sum = 0
for i = 1, 3 do sum = sum + manual("n", "A number?", { type = "number" }) end
if sum > 5 then error("too much: " .. sum, 0) end
print("sum " .. sum)
LUA
	run_us 1 run loop.lua --answer n=4
	run_us 1 resume 4 --answer n=1
	has "$ERR" "the answer given for \"n\" was not used: run 4 answered it already, and it was replayed;"
	has "$ERR" "understudy resume 5 --from 'n' --answer 'n=VALUE'"
	# ... and --from answers them all anew.
	run_us 0 resume 5 --from n --answer n=1
	same "$OUT" "sum 3"
	# A step the run never finished: said, with those it finished.
	run_us 2 resume 1 --force --from deploy
	has "$ERR" 'resume: run 1 finished no step "deploy" (it finished: "version", "build", "sign-off")'
	# An error that says where it happened keeps its traceback.
	echo 'error("boom")' | write boom.lua
	run_us 1 run boom.lua
	has "$ERR" "boom.lua:1: boom"
	has "$ERR" "stack traceback"
}
