/*
 * bench_floor.c: the floors make bench compares understudy with: plain
 * SQLite doing the same writes with nothing around them.
 * usage: bench_floor insert DB N   N step rows, one prepared statement, one transaction
 *        bench_floor bare DB N     the same rows into a table of the same columns, without its
 *                                  keys and indexes: a bare prepared insert
 *        bench_floor commit DB N   N rows, each in its own synchronous commit (WAL)
 *        bench_floor run DB N      a run's least: open DB (kept), record N runs begun and ended,
 *                                  fold the WAL back (TRUNCATE checkpoint), close
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The same table and indexes as the record's steps (host/store_sqlite.c). */
static const char schema[] =
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE IF NOT EXISTS steps (id INTEGER PRIMARY KEY, run INTEGER NOT NULL,"
	" pipeline TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL, occurrence INTEGER NOT NULL,"
	" kind TEXT NOT NULL, how TEXT NOT NULL, instructions TEXT, inputs TEXT, output TEXT,"
	" replayable INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL, error TEXT,"
	" secret INTEGER NOT NULL DEFAULT 0, secret_hash TEXT, candidate_output TEXT,"
	" candidate_agrees INTEGER, candidate_source TEXT, replay_of INTEGER, operator TEXT,"
	" started_at TEXT NOT NULL, finished_at TEXT, duration_ms INTEGER, UNIQUE (run, seq));"
	"CREATE INDEX IF NOT EXISTS steps_counts ON steps(pipeline, name);"
	"CREATE INDEX IF NOT EXISTS steps_audits ON steps(pipeline, name) WHERE how = 'audit';"
	"CREATE INDEX IF NOT EXISTS steps_manual ON steps(pipeline, name, inputs, output, operator, status,"
	" secret, how, duration_ms, candidate_agrees, secret_hash) WHERE kind = 'manual';";

/* The same columns, nothing more. */
static const char bare_schema[] =
	"PRAGMA journal_mode = WAL;"
	"CREATE TABLE IF NOT EXISTS steps (id INTEGER PRIMARY KEY, run INTEGER, pipeline TEXT, seq INTEGER,"
	" name TEXT, occurrence INTEGER, kind TEXT, how TEXT, instructions TEXT, inputs TEXT, output TEXT,"
	" replayable INTEGER DEFAULT 1, status TEXT, error TEXT, secret INTEGER DEFAULT 0, secret_hash TEXT,"
	" candidate_output TEXT, candidate_agrees INTEGER, candidate_source TEXT, replay_of INTEGER, operator TEXT,"
	" started_at TEXT, finished_at TEXT, duration_ms INTEGER);";

/* A run begun and ended in a history kept from one start to the next, as understudy's start-up does it. */
static const char run_schema[] =
	"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	"CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, pipeline TEXT NOT NULL, script TEXT,"
	" operator TEXT, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT);";

static int run_floor(const char *path, int n)
{
	sqlite3 *db;
	int rc = sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, run_schema, NULL, NULL, NULL) != SQLITE_OK;
	for (int i = 0; i < n && !rc; i++)
		rc = sqlite3_exec(db, "INSERT INTO runs (pipeline, script, operator, status, started_at)"
		                  " VALUES ('empty', 'empty.lua', 'bench', 'running', '2026-11-28T00:00:00.000Z')",
		                  NULL, NULL, NULL) != SQLITE_OK ||
		     sqlite3_exec(db, "UPDATE runs SET status = 'ok', finished_at = '2026-11-28T00:00:00.000Z'"
		                  " WHERE id = last_insert_rowid()", NULL, NULL, NULL) != SQLITE_OK;
	if (rc || sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_floor: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_close(db);
	return 0;
}

static const char insert[] =
	"INSERT INTO steps (run, pipeline, seq, name, occurrence, kind, how, output, status,"
	" operator, started_at, finished_at, duration_ms) VALUES (1, 'bench', ?, ?, ?, ?, 'run', ?, 'ok',"
	" 'bench', '2026-11-28T00:00:00.000Z', '2026-11-28T00:00:00.000Z', 0)";

int main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int each, bare, n;
	char out[32];
	if (argc != 4 || (strcmp(argv[1], "insert") != 0 && strcmp(argv[1], "bare") != 0 &&
	                  strcmp(argv[1], "commit") != 0 && strcmp(argv[1], "run") != 0)) {
		fputs("usage: bench_floor insert|bare|commit|run DB N\n", stderr);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0)
		return run_floor(argv[2], atoi(argv[3]));
	each = strcmp(argv[1], "commit") == 0;
	bare = strcmp(argv[1], "bare") == 0;
	n = atoi(argv[3]);
	/* A new database each time, as a first run of understudy has. */
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s%s", argv[2], suffixes[i]);
		unlink(path);
	}
	if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
	    sqlite3_exec(db, bare ? bare_schema : schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, each ? "PRAGMA synchronous = FULL" : "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, insert, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_floor: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	for (int i = 1; i <= n; i++) {
		snprintf(out, sizeof out, "%d", i);
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, each ? "answer" : "s", -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, i);
		sqlite3_bind_text(st, 4, each ? "manual" : "auto", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, out, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench_floor: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (!each && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_floor: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_close(db);
	return 0;
}
