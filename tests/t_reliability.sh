# t_reliability.sh: nothing lost, nothing leaked, nothing hangs; a script behaves as under lua5.4.

# gone PID [SECONDS]: wait until the process ended, at most SECONDS (20); kill it and fail when it did not.
gone() {
	local i
	for i in $(seq $((${2:-20} * 10))); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	fail "process $1 was still running after ${2:-20} s"
}

# no_process PATTERN: no process has PATTERN in its command line.
no_process() { ! pgrep -f "$1" >/dev/null; }

# recorded STEP: the history has a row of STEP.
recorded() { [ "$(sql "SELECT count(*) FROM steps WHERE name = '$1'" 2>/dev/null)" -gt 0 ]; }

# await FILE: wait until FILE exists.
await() { eventually test -e "$1"; }

# stop_when SIGNAL COMMAND...: once COMMAND succeeds, send SIGNAL to the
# process $pid and wait until it ends; its exit status in $CODE.
stop_when() {
	local sig=$1
	shift
	eventually "$@"
	kill -"$sig" "$pid"
	gone "$pid"
	wait "$pid"
	CODE=$?
}

# The history's database file alone, its WAL folded in, for grepping.
folded() { on_pg || sqlite3 "$UNDERSTUDY_DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null; }

test_secret_is_hidden_wherever_it_would_be_recorded() {
	write tok.lua <<'LUA'
local t = manual("token", "Paste the token", { secret = true })
auto("use", function() return 1 end, { inputs = { tok = t, header = "Bearer " .. t } })
auto("echo", function() return t end)
log.info("using", t)
manual("check", "?", { type = "string", validate = function(v) return v == "fine", "not " .. t end })
LUA
	printf 'tk-93f1c2\nwrong\nfine\n' | "$UNDERSTUDY" run tok.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(sql "SELECT inputs FROM steps WHERE name = 'use'")" '{"header":"Bearer <secret:token>","tok":"<secret:token>"}'
	same "$(sql "SELECT output, replayable FROM steps WHERE name = 'echo'")" '"<secret:token>"|0'
	same "$(sql "SELECT message FROM logs")" "using <secret:token>"
	has "$(cat err.txt)" "! not <secret:token>"
	# A validate reason that quotes the secret itself, given on the command line.
	write v.lua <<'LUA'
manual("pin", "PIN?", { secret = true, validate = function(v) return false, "bad pin " .. v end })
LUA
	run_us 2 run v.lua --answer pin=77aa88bb
	has "$ERR" "bad pin <secret:pin>"
	same "$(sql "SELECT error FROM runs WHERE pipeline = 'v'")" \
		'step "pin": the answer given by --answer/--answers is wrong: bad pin <secret:pin>'
	# An auto step's error, the run's, a command's, instructions; a candidate still agrees.
	write e.lua <<'LUA'
local t = manual("token", "?", { secret = true })
manual("confirm", "Log in with " .. t)
for i = 1, 2 do manual("again", "?", { secret = true, candidate = function() return "sk-55xx66" end }) end
print(pcall(auto, "call", function() error("refused token " .. t) end))
print(pcall(sh, "echo " .. t .. " >&2; exit 3"))
error("login failed with " .. t)
LUA
	printf 'sk-55xx66\n\nsk-55xx66\nsk-55xx66\n' | "$UNDERSTUDY" run e.lua >out.txt 2>err.txt
	same "$?" "1"
	has "$(cat out.txt)" "refused token <secret:token>"
	has "$(cat out.txt)" "sh: echo <secret:token> >&2; exit 3 exited with 3: <secret:token>"
	has "$(cat err.txt)" "Log in with <secret:token>"
	has "$(cat err.txt)" "login failed with <secret:token>"
	same "$(sql "SELECT instructions FROM steps WHERE name = 'confirm'")" "Log in with <secret:token>"
	same "$(sql "SELECT group_concat(candidate_agrees) FROM steps WHERE name = 'again'")" "1,1"
	has "$(sql "SELECT error FROM runs WHERE pipeline = 'e'")" "login failed with <secret:token>"
	lacks "$(cat err.txt)" "sk-55xx66"
	us export >export.txt
	us show 1 --json >show.txt
	us history tok --json >history.txt
	folded
	[ -s export.txt ] && [ -s show.txt ] && [ -s history.txt ] || fail "a view printed nothing"
	history_dump dump.txt
	for f in dump.txt export.txt show.txt history.txt err.txt out.txt; do
		if grep -a -q -e tk-93f1c2 -e 77aa88bb -e sk-55xx66 "$f"; then fail "a secret is in $f"; fi
	done
	# A step whose value was hidden runs again on resume (the secret is asked again, too).
	write r.lua <<'LUA'
local t = manual("token", "?", { secret = true })
local e = auto("echo", function() return t end)
if not io.open("go") then error("stop") end
print(e == t)
LUA
	run_us 1 run r.lua --answer token=abcd1234
	touch go
	run_us 0 resume 4 --answer token=abcd1234
	same "$OUT" "true"
	same "$(sql "SELECT group_concat(how, ' ') FROM (SELECT how FROM steps WHERE run = 5 ORDER BY seq) AS t")" "flag run"
}

test_kill_9_redoes_no_step_that_reached_the_outside() {
	write deploy.lua <<'LUA'
auto("deploy", function() sh("echo deployed >> deploys") return "v1" end)
auto("compute", function() return 6 * 7 end)
auto("wait", function() sh("touch started; sleep ${WAIT:-301}; echo waited") end)
print("done")
LUA
	"$UNDERSTUDY" run deploy.lua >/dev/null 2>&1 &
	local pid=$!
	await started
	kill -9 $pid
	wait $pid 2>/dev/null
	# The command sh started ended with the host, though the host could not end it.
	if ! (eventually no_process "sleep 301"); then
		pkill -f "sleep 301"
		fail "sh's command outlived the killed host"
	fi
	same "$(sql "SELECT group_concat(name, ' ') FROM (SELECT name FROM steps ORDER BY id) AS t")" "deploy compute"
	WAIT=0 run_us 0 resume 1
	same "$(cat deploys)" "deployed"
	same "$(sql "SELECT group_concat(name || ':' || how, ' ') FROM (SELECT * FROM steps WHERE run = 2 ORDER BY seq) AS t")" \
		"deploy:replay compute:replay wait:run"
	# A step that reached the outside world is committed as it ends, though what follows is pure computation.
	write spin.lua <<'LUA'
auto("deploy", function() sh("echo deployed >> deployed-once") end)
auto("spin", function() while not os.getenv("SPUN") do end end)
LUA
	"$UNDERSTUDY" run spin.lua >/dev/null 2>&1 &
	pid=$!
	await deployed-once
	eventually recorded deploy
	kill -9 $pid
	wait $pid 2>/dev/null
	SPUN=1 run_us 0 resume 3
	same "$(cat deployed-once)" "deployed"
}

test_resume_replays_every_value_a_step_returned() {
	write m.lua <<'LUA'
local function show(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = json.encode((select(i, ...))) end
  return select("#", ...) .. ":" .. table.concat(t, ",")
end
print(show(auto("three", function() return 1, "two", { 3 } end)))
print(show(auto("none", function() end)))
print(show(auto("holes", function() return nil, 5, nil end)))
local f = auto("float", function() return 1.0 end)
print(math.type(f), f, auto("floats", function() return -0.0, 2^53, { 7.0 } end))
if not io.open("go") then error("stop") end
LUA
	run_us 1 run m.lua
	local first=$OUT
	same "$(sed -n 1,4p <<<"$first")" '3:1,"two",[3]
0:
3:null,5,null
float	1.0	-0.0	9.007199254741e+15	table: 0x'"$(sed -n 4p <<<"$first" | sed 's/.*table: 0x//')"
	first=$(sed -n 1,3p <<<"$first"; sed -n 4p <<<"$first" | cut -f1-4)
	same "$(sql "SELECT results FROM steps WHERE name = 'holes'")" '[null,5,null]'
	touch go
	run_us 0 resume 1
	same "$(sed -n 1,3p <<<"$OUT"; sed -n 4p <<<"$OUT" | cut -f1-4)" "$first"
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2 AND how = 'replay'")" "5"
}

test_sqlite_history_file_alone_is_whole_and_backup_copies_it() {
	write s.lua <<'LUA'
local t = manual("token", "?", { secret = true })
auto("a", function() return 1 end)
LUA
	run_us 0 run s.lua --answer token=x1y2z3
	# The usual backup: the file alone. The WAL was folded back at exit.
	test ! -s "$UNDERSTUDY_DB-wal" || fail "the WAL was left behind"
	cp "$UNDERSTUDY_DB" copy.db
	same "$(sqlite3 copy.db "SELECT count(*) FROM steps")" "2"
	# backup: while a run holds the history open, a consistent, checked copy.
	write wait.lua <<'LUA'
auto("b", function() return 2 end)
manual("hold", "?", { type = "string" })
LUA
	mkfifo in
	sleep 30 >in &
	local keeper=$!
	"$UNDERSTUDY" run wait.lua <in >/dev/null 2>&1 &
	local pid=$!
	eventually recorded b
	run_us 0 backup saved.db
	kill $pid $keeper
	wait $pid 2>/dev/null
	same "$(sqlite3 saved.db "SELECT group_concat(name, ' ') FROM (SELECT name FROM steps ORDER BY id) AS t")" "token a b"
	same "$(sqlite3 saved.db "PRAGMA integrity_check")" "ok"
	same "$(stat -c %a saved.db)" "600"
	cmp "$UNDERSTUDY_DB-key" saved.db-key || fail "the key for secret answers was not copied"
	ls saved.db.tmp-* 2>/dev/null && fail "a temporary file was left"
	run_us 3 backup no/such/folder/x.db
	has "$ERR" "no/such/folder/x.db"
	run_us 2 backup
	has "$ERR" "usage: understudy backup DEST"
	# Odd destinations: the history's own files, what is not a history, a link where the key goes.
	run_us 3 backup "$UNDERSTUDY_DB"
	has "$ERR" "that is the history itself"
	run_us 3 backup "$UNDERSTUDY_DB-key"
	has "$ERR" "that is the history itself"
	echo "precious notes" >notes.txt
	run_us 3 backup notes.txt
	has "$ERR" "notes.txt exists and is not an understudy history"
	same "$(cat notes.txt)" "precious notes"
	echo "victim" >victim
	ln -s victim linked.db-key
	run_us 0 backup linked.db
	same "$(cat victim)" "victim"
	test -L linked.db-key && fail "the link was followed, not replaced"
	cmp "$UNDERSTUDY_DB-key" linked.db-key || fail "the key was not copied"
	run_us 0 backup saved.db
	# A key that is not one is refused before anyone is asked anything.
	echo 'manual("first", "?", { type = "string" })' | write k.lua
	printf 'short' >"$UNDERSTUDY_DB-key"
	run_us 3 run k.lua --answer first=x
	has "$ERR" "not a key for secret answers"
	same "$(sql "SELECT count(*) FROM runs WHERE pipeline = 'k'")" "0"
	# The copy serves as a history.
	run_us 0 runs --db saved.db
	has "$OUT" "wait"
}

# A page in the middle of the history overwritten.
damage_middle() {
	local pages
	pages=$(sqlite3 "$UNDERSTUDY_DB" "PRAGMA page_count")
	[ "$pages" -gt 10 ] || fail "the history is too small to damage in the middle: $pages pages"
	head -c 4096 /dev/urandom | dd of="$UNDERSTUDY_DB" bs=4096 seek=$((pages / 2)) conv=notrunc status=none
}

# A history of a few hundred steps with one page in the middle overwritten.
damaged_history() {
	echo 'for i = 1, 300 do auto("s" .. i, function() return string.rep("x", 200) end) end' | write big.lua
	run_us 0 run big.lua
	damage_middle
}

test_sqlite_damaged_history_is_refused_and_left_alone() {
	damaged_history
	local before
	before=$(sha256sum <"$UNDERSTUDY_DB")
	echo 'auto("a", function() return 1 end)' | write a.lua
	run_us 3 run a.lua
	has "$ERR" "the history is damaged"
	has "$ERR" ".recover"
	same "$(sha256sum <"$UNDERSTUDY_DB")" "$before"
	run_us 3 runs
	run_us 3 backup copy.db
	test ! -e copy.db || fail "a damaged history gave a backup"
}

# The check at open reads every page: it is made only when the file changed since a clean close stamped it.
test_sqlite_history_is_checked_when_it_changed_since_a_clean_close() {
	local stamp='%d %i %s %.9Y %.9Z' before
	echo 'for i = 1, 300 do auto("s" .. i, function() return string.rep("x", 200) end) end' | write big.lua
	# A stamp longer than the one written over it leaves nothing of itself behind.
	printf '%0200d\n' 0 >"$UNDERSTUDY_DB-checked"
	run_us 0 run big.lua
	same "$(cat "$UNDERSTUDY_DB-checked")" "$(stat -c "$stamp" "$UNDERSTUDY_DB")"
	before=$(cat "$UNDERSTUDY_DB-checked")
	# The same damaged file: with a stamp that matches it, it opens unchecked;
	# with the stamp from before the damage, or none, it is checked and refused.
	damage_middle
	stat -c "$stamp" "$UNDERSTUDY_DB" >"$UNDERSTUDY_DB-checked"
	run_us 0 runs
	has "$OUT" "big"
	echo "$before" >"$UNDERSTUDY_DB-checked"
	run_us 3 runs
	has "$ERR" "the history is damaged"
	rm "$UNDERSTUDY_DB-checked"
	run_us 3 runs
	has "$ERR" "the history is damaged"
	test ! -e "$UNDERSTUDY_DB-checked" || fail "a damaged history was stamped as checked"
}

test_sqlite_backup_checks_integrity_of_a_large_history() {
	# Too large to be checked at open: backup checks it whole and refuses.
	echo 'for i = 1, 45000 do auto("s", function() return string.rep("y", 150) end) end' | write big.lua
	run_us 0 run big.lua
	local size
	size=$(stat -c %s "$UNDERSTUDY_DB")
	[ "$size" -gt $((8 << 20)) ] || fail "history of $size bytes is checked at open"
	damage_middle
	run_us 3 backup copy.db
	has "$ERR" "the history is damaged"
	test ! -e copy.db || fail "a damaged history gave a backup"
}

test_resume_of_a_run_resumed_to_the_end_needs_force() {
	write f.lua <<'LUA'
auto("once", function() return 1 end)
auto("side", function() sh("echo x >> effects") if not io.open("go") then error("not yet") end end)
LUA
	run_us 1 run f.lua
	touch go
	run_us 0 resume 1
	run_us 2 resume 1
	has "$ERR" "run 1 was resumed to the end by run 2"
	has "$ERR" "--force"
	same "$(wc -l <effects)" "2"
	run_us 0 resume 1 --force
	same "$(wc -l <effects)" "3"
	# A resume that failed again: go on from it, not from the first run.
	write g.lua <<'LUA'
auto("g", function() if not io.open("ready") then error("not yet") end end)
LUA
	run_us 1 run g.lua
	run_us 1 resume 4
	run_us 2 resume 4
	has "$ERR" "understudy resume 5"
}

test_resume_of_a_resume_killed_while_replaying_asks_nothing_again() {
	write k.lua <<'LUA'
local a = manual("a", "A?", { type = "string" })
local b = manual("b", "B?", { type = "string" })
auto("c", function() return a .. b end)
if not io.open("go") then error("stop") end
print(a, b)
LUA
	run_us 1 run k.lua --answer a=one --answer b=two
	run_us 1 resume 1
	# As kill -9 leaves it while it replays: some replays not yet committed, the run still running.
	sh_pid=$(sh -c 'echo $$')
	sql "DELETE FROM steps WHERE run = 2 AND seq > 1; UPDATE runs SET status = 'running', pid = $sh_pid WHERE id = 2"
	touch go
	run_us 0 resume 2
	same "$OUT" "one	two"
	same "$(sql "SELECT group_concat(how, ' ') FROM (SELECT how FROM steps WHERE run = 3 ORDER BY seq) AS t")" "replay replay replay"
}

test_unrecordable_values_are_refused_or_described() {
	# A key with a NUL byte could be written but never read back: refused, with the path to it.
	write k.lua <<'LUA'
auto("k", function() return { inner = { ["a\0b"] = 1 } } end)
if not io.open("go") then error("stop") end
LUA
	run_us 1 run k.lua
	same "$(sql "SELECT output, replayable FROM steps WHERE name = 'k'")" '"(not JSON: table key holds a NUL byte at .inner.a\\x00b)"|0'
	touch go
	run_us 0 resume 1
	has "$ERR" 'step "k" runs again'
	# The description of a value that is not UTF-8, or has a long key, is itself JSON.
	write u.lua <<'LUA'
auto("bad", function() return { ["\xff"] = 1 } end)
auto("long", function() return { [string.rep("é", 200)] = print } end)
LUA
	run_us 0 run u.lua
	same "$(sql "SELECT count(*) FROM steps WHERE run = 3 AND json_valid(output)")" "2"
	same "$(sql "SELECT json_extract(output, '$') FROM steps WHERE name = 'bad'")" '(not JSON: string is not valid UTF-8 at .\xff)'
	has "$(sql "SELECT json_extract(output, '$') FROM steps WHERE name = 'long'")" "(not JSON: function value at .éé"
}

test_answers_the_record_cannot_hold_are_asked_again() {
	write n.lua <<'LUA'
print(manual("n", "?", { type = "number" }))
print(#manual("s", "?", { type = "string" }))
print(json.encode(manual("j", "?", { type = "json" })))
LUA
	local deep
	deep=$(printf '[%.0s' $(seq 300); printf ']%.0s' $(seq 300))
	printf '1e999\n5\nok\xff\nfine\n%s\n[1]\n' "$deep" | "$UNDERSTUDY" run n.lua >out.txt 2>err.txt || fail "exit $?: $(cat err.txt)"
	same "$(cat out.txt)" "5
4
[1]"
	has "$(cat err.txt)" 'not a finite number: "1e999"'
	has "$(cat err.txt)" "the answer cannot be recorded: string is not valid UTF-8"
	has "$(cat err.txt)" "the answer cannot be recorded: tables nested too deep"
}

test_nul_and_empty_arrays_are_not_answers() {
	write b.lua <<'LUA'
print(manual("ok", "?", { type = "boolean" }), manual("pick", "?", { choices = { "keep", "drop" } }))
LUA
	local json want
	while IFS='|' read -r json want; do
		printf '%s\n' "$json" >answers.json
		run_us 2 run b.lua --answers answers.json
		has "$ERR" "$want"
	done <<'CASES'
{"ok": "no\u0000pe", "pick": "keep"}|step "ok": the answer given by --answer/--answers is wrong: the answer holds a NUL byte
{"ok": "n", "pick": "keep\u0000!"}|step "pick": the answer given by --answer/--answers is wrong: the answer holds a NUL byte
[]|expected a JSON object {"step": answer}
{"ok": "y", "ok": "n", "pick": "keep"}|duplicate object key
{"ok": null, "pick": "keep"}|expected a boolean, got null
CASES
	run_us 2 run b.lua --answers /dev/zero
	has "$ERR" "--answers /dev/zero: larger than"
	run_us 2 run b.lua --answers .
	has "$ERR" "--answers .: Is a directory"
	echo '{"ok": "n", "pick": "drop"}' >a4.json
	run_us 0 run b.lua --answers a4.json
	same "$OUT" "false	drop"
}

test_wrong_answers_from_a_pipe_end_the_run() {
	echo 'print(manual("n", "How many?", { type = "number" }))' | write n.lua
	yes abc | "$UNDERSTUDY" run n.lua >out.txt 2>err.txt &
	local pid=$!
	gone $pid
	wait $pid
	same "$?" "2"
	has "$(cat err.txt)" 'step "n": 3 wrong answers in a row from standard input, the last: not a number: "abc"'
	same "$(sql "SELECT status FROM runs")" "failed"
}

test_sigterm_ends_a_run_stuck_in_c_code() {
	# A pattern match that backtracks for ever: C code that never returns to Lua.
	write m.lua <<'LUA'
auto("first", function() return 1 end)
io.open("matching", "w"):close()
for i = 1, 5 do auto("pure", function() return i end) end
print(string.rep("a", 40):find(".-.-.-.-.-.-.-.-.-.-b"))
LUA
	"$UNDERSTUDY" run m.lua >/dev/null 2>err.txt &
	pid=$!
	stop_when TERM test -e matching
	same "$CODE" "143"
	has "$(cat err.txt)" "terminated: the script did not stop within a second"
	has "$(cat err.txt)" "understudy resume 1"
	same "$(sql "SELECT status, error FROM runs WHERE id = 1")" "interrupted|terminated: the script did not stop within a second"
	# The steps that had finished, though not yet committed, were saved.
	same "$(sql "SELECT count(*) FROM steps WHERE run = 1")" "6"
	rm matching
	"$UNDERSTUDY" run m.lua >/dev/null 2>err.txt &
	pid=$!
	stop_when INT test -e matching
	same "$CODE" "130"
	same "$(sql "SELECT status FROM runs WHERE id = 2")" "interrupted"
	# A loop in a coroutine, which the signal's hook does not reach.
	write co.lua <<'LUA'
io.open("looping", "w"):close()
coroutine.wrap(function() while true do end end)()
LUA
	"$UNDERSTUDY" run co.lua >/dev/null 2>err.txt &
	pid=$!
	stop_when INT test -e looping
	same "$CODE" "130"
	same "$(sql "SELECT status FROM runs WHERE id = 3")" "interrupted"
}

test_sqlite_a_run_that_lost_steps_never_ends_ok() {
	echo 'auto("a", function() return 1 end)' | write a.lua
	run_us 0 run a.lua
	# Steps wait to be committed, then the history cannot grow (like a full disk); the script catches that.
	write lose.lua <<'LUA'
for i = 1, 3 do auto("big" .. i, function() return string.rep("x", 200000) end) end
print(pcall(sh, "true"))
auto("after", function() return 1 end)
LUA
	(trap '' XFSZ; ulimit -f 300; exec "$UNDERSTUDY" run lose.lua) >out.txt 2>err.txt
	same "$?" "3"
	has "$(cat out.txt)" "false"
	same "$(sql "SELECT count(*) FROM steps WHERE run = 2")" "0"
	same "$(sql "SELECT status FROM runs WHERE id = 2")" "running"
	run_us 0 runs --json
	same "$(jq -r '.[0].status' <<<"$OUT")" "abandoned"
}

test_sighup_ends_a_run_like_sigterm() {
	echo 'manual("pin", "PIN?", { secret = true })' | write h.lua
	mkfifo in
	sleep 30 >in &
	local keeper=$!
	"$UNDERSTUDY" run h.lua <in >/dev/null 2>err.txt &
	pid=$!
	stop_when HUP grep -q "(hidden)>" err.txt
	kill $keeper
	same "$CODE" "129"
	same "$(sql "SELECT status FROM runs")" "interrupted"
}

test_sigterm_ends_os_execute_and_popen_and_their_children() {
	write x.lua <<'LUA'
auto("exec", function()
  local p = io.popen("sleep 302")
  os.execute("touch started; sleep 303")
end)
LUA
	"$UNDERSTUDY" run x.lua >/dev/null 2>err.txt &
	pid=$!
	stop_when TERM test -e started
	same "$CODE" "143"
	has "$(sql "SELECT error FROM steps")" "interrupted while running touch started; sleep 303"
	same "$(sql "SELECT status FROM runs")" "interrupted"
	pgrep -f "sleep 30[23]" && fail "a child outlived the run"
	# os.execute and io.popen still answer as lua5.4's do (its output, pasted).
	write y.lua <<'LUA'
print(os.execute("exit 3"))
print(os.execute("kill -TERM $$"))
print(os.execute())
local f = io.popen("echo hi; exit 4")
print(f:read("a"), f:close())
local w = io.popen("cat > written", "w")
w:write("through a pipe")
print(w:close(), io.open("written"):read("a"))
print(pcall(io.popen, "true", "rw"))
LUA
	run_us 0 run y.lua
	same "$OUT" "nil	exit	3
nil	signal	15
true
hi
	nil	exit	4
true	through a pipe
false	bad argument #2 to 'io.popen' (invalid mode)"
}

test_sqlite_waiting_for_the_lock_says_so_and_yields_to_signals() {
	echo 'auto("a", function() return 1 end)' | write a.lua
	run_us 0 run a.lua
	# Another process holds the history's write lock until the file "release" appears.
	HOLD='
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
while not os.path.exists("release"):
    time.sleep(0.05)
db.execute("COMMIT")
'
	python3 -c "$HOLD" "$UNDERSTUDY_DB" &
	local holder=$!
	await locked
	"$UNDERSTUDY" run a.lua --name second >out.txt 2>err.txt &
	pid=$!
	stop_when TERM grep -q "waiting for the history" err.txt
	same "$CODE" "143"
	has "$(cat err.txt)" "waiting for the history $UNDERSTUDY_DB, held by another run..."
	touch release
	wait $holder
	# An answer the lock kept from the record is said to be lost, and stays lost.
	rm -f locked release
	write t.lua <<'LUA'
io.open("running", "w"):close()
while not io.open("locked") do time.sleep(0.05) end
manual("typed", "?", { type = "string" })
LUA
	"$UNDERSTUDY" run t.lua --answer typed=precious >out.txt 2>err.txt </dev/null &
	pid=$!
	await running
	python3 -c "$HOLD" "$UNDERSTUDY_DB" &
	holder=$!
	stop_when TERM grep -q "waiting for the history" err.txt
	same "$CODE" "143"
	touch release
	wait $holder
	has "$(cat err.txt)" 'the answer to "typed" was not recorded; it was: "precious"'
	same "$(sql "SELECT count(*) FROM steps WHERE name = 'typed'")" "0"
}

test_sigpipe_keeps_its_default() {
	echo 'while true do print("line") end' | write loud.lua
	timeout 20 "$UNDERSTUDY" run loud.lua 2>/dev/null | head -n 1 >first.txt
	same "${PIPESTATUS[0]}" "141"
	same "$(cat first.txt)" "line"
	# The host's own writes are guarded: a command that stops reading its stdin does not kill it.
	echo 'print("alive", sh("head -c 1 >/dev/null", { stdin = string.rep("x", 10000000) }).code)' | write w.lua
	run_us 0 run w.lua
	same "$OUT" "alive	0"
	write p.lua <<'LUA'
local f = io.popen("exec yes")
f:read("l")
print(f:close())
LUA
	run_us 0 run p.lua
	same "$OUT" "nil	signal	13"
}

test_require_finds_the_scripts_own_module_first() {
	mkdir -p here
	echo 'return { mine = true }' >here/json.lua
	write here/p.lua <<'LUA'
print(require("json").mine, require("understudy.json") == json, json.encode({ 1 }), require("http") == http)
LUA
	run_us 0 run here/p.lua
	same "$OUT" "true	true	[1]	true"
}

test_script_reads_as_lua_reads_it() {
	printf '\xef\xbb\xbf#!/usr/bin/env understudy\nprint(collectgarbage("incremental"))\nerror("on line 3")\n' >bom.lua
	run_us 1 run bom.lua
	same "$OUT" "generational"
	has "$ERR" "bom.lua:3: on line 3"
	run_us 0 check bom.lua
	echo 'io.open("p.luac", "wb"):write(string.dump(load("print(1)"))):close()' | write dump.lua
	run_us 0 run dump.lua
	run_us 2 run p.luac
	same "$ERR" "understudy: p.luac: a precompiled Lua chunk; understudy runs Lua source only"
}

test_step_names_people_cannot_read_are_refused() {
	printf 'auto("fine", function() end)\nauto("a\\0b", function() end)\n' >z.lua
	run_us 2 run z.lua
	has "$ERR" 'z.lua:2: step name "a\x00b" holds a NUL byte'
	printf 'manual("two\\nlines", "?")\n' >n.lua
	run_us 2 run n.lua
	has "$ERR" 'n.lua:1: step name "two\x0Alines" holds a control character'
	printf 'auto("caf\\xe9", function() end)\n' >u.lua
	run_us 2 run u.lua
	has "$ERR" 'u.lua:1: step name "caf\xE9" is not valid UTF-8'
	printf 'auto("", function() end)\n' >e.lua
	run_us 2 run e.lua
	has "$ERR" 'e.lua:1: step name "" is empty'
	local name why
	while IFS='|' read -r name why; do
		printf 'auto("%s", function() end)\n' "$name" >o.lua
		run_us 2 run o.lua
		has "$ERR" "o.lua:1: step name"
		has "$ERR" "$why"
	done <<'CASES'
a\u{85}b|holds a control character
\u{202e}evil|holds an invisible or direction-changing character
zero\u{200b}width|holds an invisible or direction-changing character
   |is blank
a=b|holds '=' (--answer STEP=VALUE could not name it)
CASES
	printf 'auto(string.rep("n", 201), function() end)\n' >long.lua
	run_us 2 run long.lua
	has "$ERR" "is longer than 200 bytes"
	same "$(sql "SELECT group_concat(name, ' ') FROM steps")" "fine"
}

# An error a step raised keeps its exit code through the script's own
# error handling: a failed step caught and raised again still fails with 1,
# and its text is the step's.
test_caught_and_raised_errors_keep_their_text_and_code() {
	write f.lua <<'LUA'
local ok, e = pcall(auto, "boom", function() error("kaboom") end)
print(ok, tostring(e))
print("caught: " .. e, e:match("ka(boom)"), e:upper():find("KABOOM") ~= nil, e.code)
error(e)
LUA
	run_us 1 run f.lua
	has "$OUT" 'false	step "boom" failed: '
	has "$OUT" 'kaboom'
	has "$OUT" 'caught: step "boom" failed: '
	has "$OUT" '	boom	true	1'
	has "$ERR" 'understudy: step "boom" failed: '
	has "$(sql "SELECT error FROM runs")" 'kaboom'
}

# Ctrl-C while another run holds the lock for a moment: the run still
# records its last steps, then ends as interrupted.
test_sqlite_interrupted_while_the_history_is_busy_keeps_its_steps() {
	write busy.lua <<'LUA'
auto("a", function() return 1 end)
io.open("ready", "w"):close()
auto("c", function() return 3 end)
auto("d", function() return 4 end)
while true do end
LUA
	echo 'auto("x", function() return 1 end)' | write first.lua
	run_us 0 run first.lua
	python3 -c '
import os, sqlite3, sys, time
while not os.path.exists("ready"): time.sleep(0.01)
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
time.sleep(0.6)
db.execute("COMMIT")' "$UNDERSTUDY_DB" &
	local holder=$!
	"$UNDERSTUDY" run busy.lua >out.txt 2>err.txt &
	pid=$!
	stop_when INT test -e locked
	wait $holder
	same "$CODE" "130"
	same "$(sql "SELECT group_concat(name, ' ') FROM (SELECT name FROM steps WHERE run = 2 ORDER BY seq) AS t")" "a c d"
	same "$(sql "SELECT status FROM runs WHERE id = 2")" "interrupted"
}

test_a_value_over_16_mib_is_refused_not_kept() {
	write big.lua <<'LUA'
local v = auto("big", function() return string.rep("x", 20 * 2^20) end)
print(#v)
print(#manual("paste", "Paste it", { type = "string" }))
LUA
	{ head -c 20971520 /dev/zero | tr '\0' 'y'; echo; echo short; } >answers.txt
	run_us 0 run big.lua <answers.txt
	# The code's value goes on in the script; the record keeps why it could not keep it.
	same "$OUT" "$(printf '20971520\n5')"
	has "$ERR" "! the answer cannot be recorded: value too large: the record keeps values up to 16 MiB of JSON"
	same "$(sql "SELECT output FROM steps WHERE name = 'big'")" '"(not JSON: value too large: the record keeps values up to 16 MiB of JSON)"'
	same "$(sql "SELECT replayable FROM steps WHERE name = 'big'")" "0"
	same "$(sql "SELECT output FROM steps WHERE name = 'paste'")" '"short"'
}
