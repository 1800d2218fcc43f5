# tests/lib.sh: what the tests share. A failed check ends the test with a message.

# Run understudy.
us() { "$UNDERSTUDY" "$@"; }

fail() { echo "check failed: $*" >&2; exit 1; }

# run_us WANT_CODE ARG...: run understudy; stdout in $OUT, stderr in $ERR.
run_us() {
	local want=$1
	shift
	"$UNDERSTUDY" "$@" >out.txt 2>err.txt
	CODE=$?
	OUT=$(cat out.txt)
	ERR=$(cat err.txt)
	if [ "$CODE" != "$want" ]; then
		echo "command: understudy $*" >&2
		echo "--- stdout ---" >&2; cat out.txt >&2
		echo "--- stderr ---" >&2; cat err.txt >&2
		fail "exit code $CODE, wanted $want"
	fi
}

# has TEXT NEEDLE: TEXT contains NEEDLE.
has() {
	case $1 in
	*"$2"*) ;;
	*) fail "expected to find [$2] in [$(printf '%s' "$1" | head -c 3000)]" ;;
	esac
}

# lacks TEXT NEEDLE: TEXT does not contain NEEDLE.
lacks() {
	case $1 in
	*"$2"*) fail "did not expect [$2] in [$1]" ;;
	esac
}

# same GOT WANT
same() {
	[ "$1" = "$2" ] || fail "got [$1], wanted [$2]"
}

# sql QUERY: run it on the test's history: the sqlite3 shell, or psql with
# the same output (columns joined by |, booleans as 1 and 0).
sql() {
	if on_pg; then
		psql -XAtq -F'|' -v ON_ERROR_STOP=1 -d "$UNDERSTUDY_DB" -c "$1" |
			sed -E 's/(^|\|)t(\||$)/\11\2/g; s/(^|\|)t(\||$)/\11\2/g; s/(^|\|)f(\||$)/\10\2/g; s/(^|\|)f(\||$)/\10\2/g'
	else
		sqlite3 "$UNDERSTUDY_DB" "$1"
	fi
}

# on_pg: is this pass of the suite on PostgreSQL?
on_pg() { [ "${UNDERSTUDY_TEST_BACKEND:-}" = pg ]; }

# history_dump FILE: every byte the history keeps, in FILE (the files, or pg_dump's).
history_dump() {
	if on_pg; then pg_dump -d "$UNDERSTUDY_DB" >"$1"; else cat "$UNDERSTUDY_DB"* >"$1"; fi
}

# history_reset: no history at all again.
history_reset() {
	if on_pg; then
		psql -Xq -d "$UNDERSTUDY_DB" -c "DROP TABLE IF EXISTS offers, waits, logs, step_totals, steps, runs, understudy_meta CASCADE" 2>/dev/null
	else
		rm -f "$UNDERSTUDY_DB" "$UNDERSTUDY_DB"-wal "$UNDERSTUDY_DB"-shm
	fi
}

# intact: "ok" when the history reads whole (SQLite checks every page).
intact() {
	if on_pg; then sql "SELECT 'ok' FROM (SELECT count(*) FROM runs) r, (SELECT count(*) FROM steps) s, (SELECT count(*) FROM logs) l"
	else sql "PRAGMA integrity_check"; fi
}

# ptyrun SCRIPT ARG...: run understudy on a pseudo-terminal driven by SCRIPT.
pty() {
	local script=$1
	shift
	printf '%b' "$script" | "$TEST_BIN/ptyrun" -t 10 -- "$UNDERSTUDY" "$@" >pty.txt 2>pty.err
	CODE=$?
	OUT=$(cat pty.txt)
}

# eventually COMMAND...: wait until COMMAND succeeds (at most 10 s).
eventually() {
	local i
	for i in $(seq 100); do "$@" && return 0; sleep 0.1; done
	fail "never came true: $*"
}

# write FILE: stdin to FILE.
write() { cat >"$1"; }

# flat TEXT: TEXT with every run of spaces and newlines made one space.
flat() { printf '%s' "$1" | tr -s ' \n' '  '; }

# at_end COMMAND: run COMMAND when the test ends, passed or failed (a
# process it started in the background must not outlive it).
AT_END=:
at_end() {
	AT_END="$1; $AT_END"
	trap "$AT_END" EXIT
}

# runner_start SCRIPT [ARG...]: run SCRIPT with --wait in the background, its
# manual steps waiting for an answer from elsewhere; stdout in runner.out,
# stderr in runner.err, its pid in $RUNNER_PID; stopped when the test ends.
runner_start() {
	"$UNDERSTUDY" run "$@" --wait </dev/null >runner.out 2>runner.err &
	RUNNER_PID=$!
	at_end "kill $RUNNER_PID 2>/dev/null"
}

# httpd_start: a real HTTP server on 127.0.0.1 for this test; sets $PORT,
# logs requests to httpd.log, and is stopped when the test ends.
httpd_start() {
	python3 "$TESTS/httpd.py" httpd.port httpd.log 2>httpd.err &
	HTTPD_PID=$!
	at_end "kill $HTTPD_PID 2>/dev/null"
	local i
	for i in $(seq 100); do [ -s httpd.port ] && break; sleep 0.05; done
	[ -s httpd.port ] || fail "the test HTTP server did not start: $(cat httpd.err)"
	PORT=$(cat httpd.port)
}
