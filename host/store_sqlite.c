/* store_sqlite.c: the history in an SQLite file (WAL, busy timeout, BEGIN IMMEDIATE writes). */
#include "store.h"
#include "clock.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* "US" "hi" in ASCII: marks a database as an understudy history. */
#define APPLICATION_ID 0x55536869
#define BUSY_TIMEOUT_MS 60000
#define WAIT_SAY_MS 1000      /* a wait for another process's lock is told after this */
#define STOP_GRACE_MS 1000    /* a stopping run still waits this long for the lock: its last rows */
#define QUICK_CHECK_BYTES (8 << 20)   /* histories up to this size are checked when they open changed */
#define STAMP_MAX 160
#define KEPT_MAX 12           /* statements kept prepared: the reads asked often, and around every write */

typedef struct SqliteStore {
	Store base;
	sqlite3 *db;
	char *key_path;           /* PATH-key: the key for secret answers */
	char *checked_path;       /* PATH-checked: the file as it was left checked (stamp_of) */
	char stamp[STAMP_MAX];    /* what PATH-checked said at open; "" when it was missing */
	int current;              /* the schema is this version's: no migration */
	sqlite3_stmt *insert_step, *insert_log, *insert_totals;
	struct { const char *sql; sqlite3_stmt *st; } kept[KEPT_MAX];   /* prepare_kept's */
	int nkept;
	int64_t busy_since_ms;
	int64_t stop_seen_ms;     /* when a wait first saw the stop; 0: not yet */
	int busy_said;
	int usable;               /* opened, checked, ours: may be written */
} SqliteStore;

/* Migrations in order: entry i takes schema version i to i + 1. */
static const char *const migrations[] = {
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  pipeline TEXT NOT NULL,"
	"  script TEXT,"
	"  script_hash TEXT,"
	"  args TEXT,"
	"  operator TEXT,"
	"  host TEXT,"
	"  pid INTEGER,"
	"  cwd TEXT,"
	"  status TEXT NOT NULL,"
	"  error TEXT,"
	"  resumed_from INTEGER REFERENCES runs(id),"
	"  started_at TEXT NOT NULL,"
	"  finished_at TEXT"
	");"
	"CREATE INDEX runs_pipeline ON runs(pipeline, id);"
	"CREATE TABLE steps ("
	"  id INTEGER PRIMARY KEY,"
	"  run INTEGER NOT NULL REFERENCES runs(id),"
	"  pipeline TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  occurrence INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  how TEXT NOT NULL,"
	"  instructions TEXT,"
	"  inputs TEXT,"
	"  output TEXT,"
	"  replayable INTEGER NOT NULL DEFAULT 1,"
	"  status TEXT NOT NULL,"
	"  error TEXT,"
	"  secret INTEGER NOT NULL DEFAULT 0,"
	"  secret_hash TEXT,"
	"  candidate_output TEXT,"
	"  candidate_agrees INTEGER,"
	"  candidate_source TEXT,"
	"  replay_of INTEGER REFERENCES steps(id),"
	"  operator TEXT,"
	"  started_at TEXT NOT NULL,"
	"  finished_at TEXT,"
	"  duration_ms INTEGER,"
	"  UNIQUE (run, seq)"
	");"
	"CREATE TABLE logs ("
	"  id INTEGER PRIMARY KEY,"
	"  run INTEGER NOT NULL REFERENCES runs(id),"
	"  seq INTEGER NOT NULL,"
	"  level TEXT NOT NULL,"
	"  message TEXT NOT NULL,"
	"  at TEXT NOT NULL"
	");"
	"CREATE INDEX logs_run ON logs(run, id);"
	/* report and history: per-step counts from this index alone... */
	"CREATE INDEX steps_counts ON steps(pipeline, name, kind, how);"
	/* ...and manual answers, which are few, from this one. */
	"CREATE INDEX steps_manual ON steps(pipeline, name, inputs, output, status, secret, how,"
	"  duration_ms, candidate_agrees) WHERE kind = 'manual';",
	/* 2: every value an auto step returned, when it returned other than one. */
	"ALTER TABLE steps ADD COLUMN results TEXT;",
	/* 3: steps waiting for a person, answers offered to them from elsewhere, notes. */
	"CREATE TABLE waits ("
	"  id INTEGER PRIMARY KEY,"
	"  run INTEGER NOT NULL REFERENCES runs(id),"
	"  pipeline TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  occurrence INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  instructions TEXT,"
	"  inputs TEXT,"
	"  choices TEXT,"
	"  default_value TEXT,"
	"  candidate TEXT,"
	"  secret INTEGER NOT NULL DEFAULT 0,"
	"  operator TEXT,"
	"  host TEXT,"
	"  pid INTEGER,"
	"  since TEXT NOT NULL,"
	"  beat TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  answered_by TEXT,"
	"  how TEXT,"
	"  ended_at TEXT"
	");"
	"CREATE INDEX waits_open ON waits(id) WHERE state = 'waiting';"
	"CREATE INDEX waits_run ON waits(run, name);"
	"CREATE TABLE offers ("
	"  id INTEGER PRIMARY KEY,"
	"  wait INTEGER NOT NULL REFERENCES waits(id),"
	"  value TEXT NOT NULL,"
	"  note TEXT,"
	"  operator TEXT NOT NULL,"
	"  how TEXT NOT NULL,"
	"  at TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  reason TEXT"
	");"
	"CREATE INDEX offers_wait ON offers(wait, id);"
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");"
	"ALTER TABLE steps ADD COLUMN note TEXT;",
	/* 4: dry runs, marked. */
	"ALTER TABLE runs ADD COLUMN dry INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 5: report reads each step's counts from step_totals, kept in the
	 * transaction that inserts the steps (insert_rows), and people's
	 * answers through steps_manual: its time no longer grows with the
	 * auto steps of the history.
	 */
	"CREATE TABLE step_totals ("
	"  pipeline TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  executions INTEGER NOT NULL,"
	"  manual_executions INTEGER NOT NULL,"
	"  auto_executions INTEGER NOT NULL,"
	"  last_kind TEXT NOT NULL,"
	"  last_how TEXT NOT NULL,"
	"  PRIMARY KEY (pipeline, name)"
	") WITHOUT ROWID;"
	"INSERT INTO step_totals SELECT t.pipeline, t.name, t.n, t.m, t.a, l.kind, l.how FROM"
	" (SELECT pipeline, name, count(*) AS n, sum(kind = 'manual') AS m, sum(kind = 'auto') AS a, max(id) AS last"
	"  FROM steps WHERE how NOT IN ('replay', 'dry') GROUP BY pipeline, name) t JOIN steps l ON l.id = t.last;"
	/* People's answers by who gave them, read from the index alone too. */
	"DROP INDEX steps_manual;"
	"CREATE INDEX steps_manual ON steps(pipeline, name, inputs, output, status, secret, how,"
	"  duration_ms, candidate_agrees, operator, secret_hash) WHERE kind = 'manual';",
	/*
	 * 6: the same, in the order report groups people's answers for the
	 * rules (inputs, answer, who): read in order, not sorted.
	 */
	"DROP INDEX steps_manual;"
	"CREATE INDEX steps_manual ON steps(pipeline, name, inputs, output, operator, status, secret, how,"
	"  duration_ms, candidate_agrees, secret_hash) WHERE kind = 'manual';",
	/*
	 * 7: step_totals counts auto executions only, with the id of the
	 * last: report counts people's answers as it reads them, so a
	 * person's answer commits one row, not two.
	 */
	"ALTER TABLE step_totals DROP COLUMN executions;"
	"ALTER TABLE step_totals DROP COLUMN manual_executions;"
	"ALTER TABLE step_totals DROP COLUMN last_kind;"
	"ALTER TABLE step_totals DROP COLUMN last_how;"
	"ALTER TABLE step_totals ADD COLUMN last_id INTEGER;"
	"DELETE FROM step_totals;"
	"INSERT INTO step_totals (pipeline, name, auto_executions, last_id)"
	" SELECT pipeline, name, count(*), max(id) FROM steps"
	" WHERE kind = 'auto' AND how NOT IN ('replay', 'dry') GROUP BY pipeline, name;"
	/*
	 * ...and steps_counts narrows to (pipeline, name): nothing counts
	 * through it any more, reads walk a step's rows by id, and an auto
	 * step's row keeps a shorter key up. The audits, few among the
	 * code's executions, which report looks for, have their own index.
	 */
	"DROP INDEX steps_counts;"
	"CREATE INDEX steps_counts ON steps(pipeline, name);"
	"CREATE INDEX steps_audits ON steps(pipeline, name) WHERE how = 'audit';",
};


#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Set the error: what failed, with SQLite's word on it. */
static void sq_fail(SqliteStore *q, const char *what)
{
	store_fail(&q->base, "%s: %s: %s", q->base.where, what, sqlite3_errmsg(q->db));
}

/* Run SQL with no result rows; 0 or -1 with the error set. */
static int exec(SqliteStore *q, const char *sql, const char *what)
{
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		sq_fail(q, what);
		return -1;
	}
	return 0;
}

/*
 * Is the database ours (or empty), and not from a newer version? Only
 * reads: a file that is not ours is never changed. 0, or -1 with the
 * error set.
 */
static int check_ours(SqliteStore *q)
{
	/* One statement, so one snapshot: another process may be creating the schema. */
	static const char sql[] =
		"SELECT (SELECT user_version FROM pragma_user_version),"
		" (SELECT application_id FROM pragma_application_id),"
		" (SELECT count(*) FROM sqlite_master)";
	const char *where = q->base.where;
	int64_t version = -1, app = -1, tables = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			version = sqlite3_column_int64(st, 0);
			app = sqlite3_column_int64(st, 1);
			tables = sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	q->current = app == APPLICATION_ID && version == STORE_SCHEMA_VERSION;
	if (version < 0 || app < 0 || tables < 0)
		store_fail(&q->base, "%s: not a usable SQLite database (%s); left untouched", where, sqlite3_errmsg(q->db));
	else if (app != APPLICATION_ID && (app != 0 || tables != 0 || version != 0))
		store_fail(&q->base, "%s: not an understudy history (it holds other data); left untouched", where);
	else if (version > STORE_SCHEMA_VERSION)
		store_fail(&q->base, "%s: written by a newer understudy (schema %lld; this one knows %d); left untouched",
		           where, (long long)version, STORE_SCHEMA_VERSION);
	else
		return 0;
	return -1;
}

/*
 * Put the history in WAL mode, once for all. Switching needs a moment
 * alone with the file, which runs starting together may not give at
 * first: try again for a while.
 */
static int use_wal(SqliteStore *q)
{
	for (int tries = 0; tries < 500 && !(q->base.stop && *q->base.stop); tries++) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
		if (rc == SQLITE_OK) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0) {
				sqlite3_finalize(st);
				return 0;
			}
			sqlite3_finalize(st);
		}
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED && rc != SQLITE_ROW)
			break;
		sqlite3_sleep(20);
	}
	sq_fail(q, "cannot put the history in WAL mode");
	return -1;
}

/* Bring an empty or older database to the current schema. */
static int migrate(SqliteStore *q)
{
	sqlite3_stmt *st;
	int64_t version = -1;
	if (exec(q, "BEGIN IMMEDIATE", "cannot lock the history"))
		return -1;
	/* Checked again under the lock: another process may have got here first. */
	if (check_ours(q))
		goto fail;
	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	for (int v = (int)version; v >= 0 && v < NMIGRATIONS; v++)
		if (exec(q, migrations[v], "cannot create the schema"))
			goto fail;
	if (version < STORE_SCHEMA_VERSION) {
		char sql[128];
		snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
		         APPLICATION_ID, STORE_SCHEMA_VERSION);
		if (exec(q, sql, "cannot set the schema version"))
			goto fail;
	}
	if (exec(q, "COMMIT", "cannot write the history"))
		goto fail;
	return 0;
fail:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * SQLite's busy handler: another process holds the history. Say so after
 * a second, give up after BUSY_TIMEOUT_MS, or a second after the host
 * began to stop (the run's last rows are worth that wait; the watchdog
 * ends what takes longer).
 */
static int on_busy(void *ud, int count)
{
	SqliteStore *q = ud;
	int64_t now = clock_mono_ms();
	if (count == 0) {
		q->busy_since_ms = now;
		q->busy_said = 0;
	}
	if (q->base.stop && *q->base.stop && !q->stop_seen_ms)
		q->stop_seen_ms = now;
	if ((q->stop_seen_ms && now - q->stop_seen_ms >= STOP_GRACE_MS) || now - q->busy_since_ms >= BUSY_TIMEOUT_MS)
		return 0;
	if (!q->busy_said && now - q->busy_since_ms >= WAIT_SAY_MS) {
		fprintf(stderr, "understudy: waiting for the history %s, held by another run...\n", q->base.where);
		q->busy_said = 1;
	}
	sqlite3_sleep(10);
	return 1;
}

/*
 * The database file as a clean close left it: which file, its size and
 * its last change. Any write to it changes the change time, which no
 * program can set back, so a file that still matches was not touched.
 */
static void stamp_of(const struct stat *st, char out[STAMP_MAX])
{
	snprintf(out, STAMP_MAX, "%ju %ju %jd %jd.%09ld %jd.%09ld\n", (uintmax_t)st->st_dev, (uintmax_t)st->st_ino,
	         (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
	         (intmax_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* Read PATH-checked into q->stamp ("" when missing or unreadable). */
static void stamp_read(SqliteStore *q)
{
	int fd = open(q->checked_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd < 0 ? -1 : read(fd, q->stamp, STAMP_MAX - 1);
	q->stamp[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * After a clean close, record the file as it is now, so that the next
 * open needs no check: unless the file is larger than is checked, or
 * is as it was recorded already. A stamp left half written matches no
 * file, and then the next open checks.
 */
static void stamp_write(SqliteStore *q)
{
	char now[STAMP_MAX];
	struct stat st;
	size_t n;
	int fd;
	if (stat(q->base.where, &st) != 0 || st.st_size > QUICK_CHECK_BYTES)
		return;
	stamp_of(&st, now);
	if (strcmp(now, q->stamp) == 0)
		return;
	/*
	 * Written over in place, then cut to its length. Emptied first
	 * (O_TRUNC), ext4 freed the file's block and wrote it out again
	 * when it closed: about 0.1 ms of every run.
	 */
	fd = open(q->checked_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	n = strlen(now);
	if (pwrite(fd, now, n, 0) != (ssize_t)n || ftruncate(fd, (off_t)n) != 0)
		unlink(q->checked_path);
	close(fd);
}

/*
 * A small history is checked for damage when it opens changed since a
 * clean close recorded it (PRAGMA quick_check reads every page, so a
 * large one is checked by backup instead). 0, or -1 with what to do in
 * the error.
 */
static int check_damage(SqliteStore *q)
{
	const char *where = q->base.where, *first = NULL;
	char now[STAMP_MAX];
	struct stat file;
	sqlite3_stmt *st;
	int rc;
	if (stat(where, &file) != 0) {
		store_fail(&q->base, "%s: %s", where, strerror(errno));
		return -1;
	}
	if (file.st_size > QUICK_CHECK_BYTES)
		return 0;
	stamp_read(q);
	stamp_of(&file, now);
	if (strcmp(now, q->stamp) == 0)
		return 0;
	if (sqlite3_prepare_v2(q->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
		sq_fail(q, "cannot check the history");
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		first = (const char *)sqlite3_column_text(st, 0);
	if (rc == SQLITE_ROW && first && strcmp(first, "ok") == 0) {
		sqlite3_finalize(st);
		return 0;
	}
	store_fail(&q->base, "%s: the history is damaged (%s); nothing was written to it. Keep a copy, then"
	           " restore your last backup (understudy backup), or save what can be read:"
	           " sqlite3 %s .recover | sqlite3 NEW.db, and use --db NEW.db",
	           where, first ? first : sqlite3_errmsg(q->db), where);
	sqlite3_finalize(st);
	return -1;
}

static int check_key(SqliteStore *q);
static void sq_close(Store *s);

static const char insert_step_sql[] =
	"INSERT INTO steps (id, run, pipeline, seq, name, occurrence, kind, how, instructions,"
	" inputs, output, replayable, status, error, secret, secret_hash, candidate_output,"
	" candidate_agrees, replay_of, operator, started_at, finished_at, duration_ms,"
	" candidate_source, results, note)"
	" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char insert_log_sql[] = "INSERT INTO logs (id, run, seq, level, message, at) VALUES (?,?,?,?,?,?)";
static const char insert_totals_sql[] =
	"INSERT INTO step_totals (pipeline, name, auto_executions, last_id)"
	" VALUES (?1, ?2, ?3, (SELECT id FROM steps WHERE run = ?4 AND seq = ?5)) ON CONFLICT (pipeline, name) DO UPDATE SET"
	" auto_executions = auto_executions + excluded.auto_executions,"
	" last_id = max(coalesce(last_id, 0), coalesce(excluded.last_id, 0))";

static Store *sq_open(const char *path, int create, const volatile sig_atomic_t *stop, Buf *err)
{
	static int configured;
	SqliteStore *q = calloc(1, sizeof *q);
	struct stat st;
	if (!configured) {
		/* Before SQLite starts: no global count of its memory, and no mutex taken for it on every allocation. */
		sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
		configured = 1;
	}
	if (!q || store_init(&q->base, &store_sqlite_methods, path, stop) ||
	    asprintf(&q->key_path, "%s-key", path) < 0 || asprintf(&q->checked_path, "%s-checked", path) < 0) {
		if (q)
			store_free(&q->base);
		free(q);
		buf_adds(err, "out of memory");
		return NULL;
	}
	if (stat(path, &st) != 0) {
		int fd;
		if (create <= 0) {
			if (create == STORE_MUST_EXIST)
				buf_addf(err, "%s: no history here yet", path);
			goto fail;
		}
		if (path_make_parent(path) != 0 ||
		    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
			buf_addf(err, "%s: cannot create: %s", path, strerror(errno));
			goto fail;
		}
		close(fd);
	} else if (!S_ISREG(st.st_mode)) {
		buf_addf(err, "%s: not a regular file", path);
		goto fail;
	}
	/* One thread uses this connection (the watchdog opens its own): no mutex around every call. */
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		buf_addf(err, "%s: cannot open: %s", path, q->db ? sqlite3_errmsg(q->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_handler(q->db, on_busy, q);
	/* The WAL stays in place at close: sq_close folds it back itself. */
	sqlite3_db_config(q->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (check_ours(q) || check_damage(q))
		goto fail_store;
	/*
	 * WAL before any write; only a history that is ours gets here. Commits
	 * are synchronous only where a durable write asks: after a crash of
	 * the process nothing is lost either way, after a power loss only
	 * what was not durable (auto steps, which a resume runs again).
	 */
	if (use_wal(q) || exec(q, "PRAGMA synchronous = NORMAL", "cannot set up the journal"))
		goto fail_store;
	if (!q->current && migrate(q))
		goto fail_store;
	if (sqlite3_prepare_v3(q->db, insert_step_sql, -1, SQLITE_PREPARE_PERSISTENT, &q->insert_step, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(q->db, insert_log_sql, -1, SQLITE_PREPARE_PERSISTENT, &q->insert_log, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(q->db, insert_totals_sql, -1, SQLITE_PREPARE_PERSISTENT, &q->insert_totals, NULL) !=
	        SQLITE_OK) {
		sq_fail(q, "cannot prepare");
		goto fail_store;
	}
	if (create && check_key(q))
		goto fail_store;
	q->usable = 1;
	return &q->base;
fail_store:
	buf_adds(err, store_error(&q->base));
fail:
	sq_close(&q->base);
	return NULL;
}

static void sq_close(Store *s)
{
	SqliteStore *q = (SqliteStore *)s;
	/*
	 * Fold the WAL back into the database and empty it, unless another
	 * process is reading right now (no waiting at exit): a copy of the
	 * database file alone is then the whole history. Then record the
	 * file as checked: it was, or it matched its stamp, when it opened.
	 */
	if (q->usable) {
		sqlite3_busy_handler(q->db, NULL, NULL);
		if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
			stamp_write(q);
	}
	sqlite3_finalize(q->insert_step);
	sqlite3_finalize(q->insert_log);
	sqlite3_finalize(q->insert_totals);
	for (int i = 0; i < q->nkept; i++)
		sqlite3_finalize(q->kept[i].st);
	sqlite3_close_v2(q->db);
	store_free(s);
	free(q->key_path);
	free(q->checked_path);
	free(q);
}

/* Bind text or NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* Bind text or NULL in place, not copied: for a row's strings, which outlive its step (the bindings are cleared after it). */
static void bind_row_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Bind an id, or NULL for 0 (none, or: the database gives one). */
static void bind_id(sqlite3_stmt *st, int i, int64_t id)
{
	if (id)
		sqlite3_bind_int64(st, i, id);
	else
		sqlite3_bind_null(st, i);
}

/* Bind a time as the record keeps it, or NULL for 0. */
static void bind_time(sqlite3_stmt *st, int i, int64_t ms)
{
	char when[32];
	if (!ms) {
		sqlite3_bind_null(st, i);
		return;
	}
	clock_iso(ms, when);
	sqlite3_bind_text(st, i, when, -1, SQLITE_TRANSIENT);
}

static int64_t sq_run_begin(Store *s, const StoreRun *run)
{
	static const char sql[] =
		"INSERT INTO runs (id, pipeline, script, script_hash, args, operator, host, pid,"
		" status, resumed_from, started_at, cwd, error, finished_at, dry) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st;
	int64_t id = 0;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sq_fail(q, "cannot record the run");
		return 0;
	}
	bind_id(st, 1, run->id);
	bind_text(st, 2, run->pipeline);
	bind_text(st, 3, run->script);
	bind_text(st, 4, run->script_hash);
	bind_text(st, 5, run->args);
	bind_text(st, 6, run->operator);
	bind_text(st, 7, run->host);
	sqlite3_bind_int64(st, 8, run->pid);
	bind_text(st, 9, run->status ? run->status : "running");
	bind_id(st, 10, run->resumed_from);
	bind_time(st, 11, run->started_ms);
	bind_text(st, 12, run->cwd);
	bind_text(st, 13, run->error);
	bind_time(st, 14, run->finished_ms);
	sqlite3_bind_int(st, 15, run->dry != 0);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(q->db);
	else
		sq_fail(q, "cannot record the run");
	sqlite3_finalize(st);
	return id;
}

static int sq_run_finish(Store *s, int64_t run, const char *status, const char *error, int64_t finished_ms)
{
	static const char sql[] = "UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?";
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st;
	int rc = 0;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sq_fail(q, "cannot finish the run");
		return -1;
	}
	bind_text(st, 1, status);
	bind_text(st, 2, error);
	bind_time(st, 3, finished_ms);
	sqlite3_bind_int64(st, 4, run);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_fail(q, "cannot finish the run");
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Insert one step row with st, a prepared insert_step_sql; SQLite's result code. */
static int insert_step(sqlite3_stmt *st, const StoreStep *s)
{
	int rc;
	bind_id(st, 1, s->id);
	sqlite3_bind_int64(st, 2, s->run);
	bind_row_text(st, 3, s->pipeline);
	sqlite3_bind_int(st, 4, s->seq);
	bind_row_text(st, 5, s->name);
	sqlite3_bind_int(st, 6, s->occurrence);
	bind_row_text(st, 7, s->kind);
	bind_row_text(st, 8, s->how);
	bind_row_text(st, 9, s->instructions);
	bind_row_text(st, 10, s->inputs);
	bind_row_text(st, 11, s->output);
	sqlite3_bind_int(st, 12, s->replayable);
	bind_row_text(st, 13, s->status);
	bind_row_text(st, 14, s->error);
	sqlite3_bind_int(st, 15, s->secret);
	bind_row_text(st, 16, s->secret_hash);
	bind_row_text(st, 17, s->candidate_output);
	if (s->candidate_agrees >= 0)
		sqlite3_bind_int(st, 18, s->candidate_agrees);
	else
		sqlite3_bind_null(st, 18);
	bind_id(st, 19, s->replay_of);
	bind_row_text(st, 20, s->operator);
	bind_time(st, 21, s->started_ms);
	bind_time(st, 22, s->finished_ms);
	if (s->duration_ms >= 0)
		sqlite3_bind_int64(st, 23, s->duration_ms);
	else
		sqlite3_bind_null(st, 23);
	bind_row_text(st, 24, s->candidate_source);
	bind_row_text(st, 25, s->results);
	bind_row_text(st, 26, s->note);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Insert one log line with st, a prepared insert_log_sql; SQLite's result code. */
static int insert_log(sqlite3_stmt *st, const StoreLog *l)
{
	int rc;
	bind_id(st, 1, l->id);
	sqlite3_bind_int64(st, 2, l->run);
	sqlite3_bind_int(st, 3, l->seq);
	bind_row_text(st, 4, l->level);
	bind_row_text(st, 5, l->message);
	bind_time(st, 6, l->at_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

#define TOTALS_MAX 32   /* distinct steps counted at once; more are added in turns */

/* Add the counted steps to step_totals. */
static int totals_add(sqlite3_stmt *st, const StoreTotal *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		bind_text(st, 1, t[i].pipeline);
		bind_text(st, 2, t[i].name);
		sqlite3_bind_int64(st, 3, t[i].autos);
		sqlite3_bind_int64(st, 4, t[i].last_run);
		sqlite3_bind_int64(st, 5, t[i].last_seq);
		if (sqlite3_step(st) != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/*
 * Insert rows with the statements (in a transaction of the caller's), and
 * count the original executions into step_totals, one statement per step
 * in the batch; 0 or -1.
 */
static int insert_rows(sqlite3_stmt *ins_step, sqlite3_stmt *ins_log, sqlite3_stmt *ins_totals,
                       const StoreStep *steps, size_t nsteps, const StoreLog *logs, size_t nlogs)
{
	StoreTotal t[TOTALS_MAX];
	for (size_t i = 0; i < nsteps; i++)
		if (insert_step(ins_step, &steps[i]) != SQLITE_DONE)
			return -1;
	for (size_t done = 0, nt = 0; done < nsteps; nt = 0) {
		done += store_totals_count(steps + done, nsteps - done, t, TOTALS_MAX, &nt);
		if (totals_add(ins_totals, t, nt))
			return -1;
	}
	for (size_t i = 0; i < nlogs; i++)
		if (insert_log(ins_log, &logs[i]) != SQLITE_DONE)
			return -1;
	return 0;
}


static int sq_write_aside(Store *s, const StoreStep *steps, size_t nsteps, const StoreLog *logs, size_t nlogs,
                          int64_t run, const char *error)
{
	static const char sql[] =
		"UPDATE runs SET status = 'interrupted', error = ?1, finished_at = ?2 WHERE id = ?3 AND status = 'running'";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *ins_step = NULL, *ins_log = NULL, *ins_totals = NULL;
	int rc = -1;
	if (sqlite3_open_v2(s->where, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto done;
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto done;
	if ((nsteps || nlogs) &&
	    (sqlite3_prepare_v2(db, insert_step_sql, -1, &ins_step, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v2(db, insert_log_sql, -1, &ins_log, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v2(db, insert_totals_sql, -1, &ins_totals, NULL) != SQLITE_OK ||
	     insert_rows(ins_step, ins_log, ins_totals, steps, nsteps, logs, nlogs)))
		goto done;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	bind_text(st, 1, error);
	bind_time(st, 2, clock_wall_ms());
	sqlite3_bind_int64(st, 3, run);
	if (sqlite3_step(st) == SQLITE_DONE && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_finalize(ins_step);
	sqlite3_finalize(ins_log);
	sqlite3_finalize(ins_totals);
	sqlite3_close(db);   /* an open transaction is rolled back */
	return rc;
}

/* Column i as text, NULL for NULL. */
static const char *text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Column i as an integer, dflt for NULL. */
static int64_t integer(sqlite3_stmt *st, int i, int64_t dflt)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

/*
 * Prepare sql and bind text parameters (NULLs allowed) and integers:
 * params[i] for ?i+1 when types[i] is 't', ints[i] when 'i'. NULL with
 * the error set.
 */
static sqlite3_stmt *prepare(SqliteStore *q, const char *sql, const char *what, const char *types,
                             const char *const *params, const int64_t *ints)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sq_fail(q, what);
		return NULL;
	}
	for (int i = 0; types[i]; i++)
		if (types[i] == 't')
			bind_text(st, i + 1, params[i]);
		else
			sqlite3_bind_int64(st, i + 1, ints[i]);
	return st;
}

/*
 * prepare, for a read asked again and again (the waiting steps, the
 * offered answers: the page and every runner that waits ask them): the
 * statement of the static text sql is kept, prepared once, and finish
 * resets it.
 */
static sqlite3_stmt *prepare_kept(SqliteStore *q, const char *sql, const char *what, const char *types,
                                  const char *const *params, const int64_t *ints)
{
	sqlite3_stmt *st = NULL;
	int i;
	for (i = 0; i < q->nkept && q->kept[i].sql != sql; i++)
		;
	if (i < q->nkept) {
		st = q->kept[i].st;
	} else if (q->nkept < KEPT_MAX) {
		if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
			sq_fail(q, what);
			return NULL;
		}
		q->kept[q->nkept].sql = sql;
		q->kept[q->nkept++].st = st;
	} else {
		return prepare(q, sql, what, types, params, ints);
	}
	for (i = 0; types[i]; i++)
		if (types[i] == 't')
			bind_text(st, i + 1, params[i]);
		else
			sqlite3_bind_int64(st, i + 1, ints[i]);
	return st;
}

/* Step to the end of st: SQLITE_DONE gives 0, a callback's stop its value, an error -1 with what. */
static int finish(SqliteStore *q, sqlite3_stmt *st, int rc, int stopped, const char *what)
{
	int kept = 0;
	if (!stopped && rc != SQLITE_DONE) {
		sq_fail(q, what);
		stopped = -1;
	}
	for (int i = 0; i < q->nkept && !kept; i++)
		kept = q->kept[i].st == st;
	if (kept) {
		sqlite3_reset(st);   /* its read ends here: no lock is held until the next */
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
	return stopped;
}

/* The statements around every write, kept prepared (prepare_kept): parsed each time, they were a tenth of a manual step's CPU. */
static const char sync_full_sql[] = "PRAGMA synchronous = FULL";
static const char sync_normal_sql[] = "PRAGMA synchronous = NORMAL";
static const char begin_sql[] = "BEGIN IMMEDIATE";
static const char commit_sql[] = "COMMIT";

static int exec_kept(SqliteStore *q, const char *sql, const char *what)
{
	sqlite3_stmt *st = prepare_kept(q, sql, what, "", NULL, NULL);
	return st ? finish(q, st, sqlite3_step(st), 0, what) : -1;
}

static int sq_write(Store *s, const StoreStep *steps, size_t nsteps, const StoreLog *logs, size_t nlogs, int durable)
{
	SqliteStore *q = (SqliteStore *)s;
	int rc = -1;
	if (durable && exec_kept(q, sync_full_sql, "cannot set up the journal"))
		return -1;
	if (exec_kept(q, begin_sql, "cannot lock the history"))
		goto done;
	if (insert_rows(q->insert_step, q->insert_log, q->insert_totals, steps, nsteps, logs, nlogs)) {
		sq_fail(q, "cannot record a step");
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	if (exec_kept(q, commit_sql, "cannot commit to the history")) {
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	rc = 0;
done:
	if (durable && exec_kept(q, sync_normal_sql, "cannot set up the journal") && rc == 0)
		rc = -1;
	return rc;
}

#define RUN_COLUMNS \
	"r.id, r.pipeline, r.script, r.script_hash, r.args, r.operator, r.host, r.pid, r.cwd," \
	" r.status, r.error, r.resumed_from, r.started_at, r.finished_at," \
	" (SELECT count(*) FROM steps s WHERE s.run = r.id), r.dry"

static int sq_runs(Store *s, const char *pipeline, int64_t id, StoreRunFn fn, void *ud)
{
	static const char sql[] =
		"SELECT " RUN_COLUMNS " FROM runs r"
		" WHERE (?1 IS NULL OR r.pipeline = ?1) AND (?2 = 0 OR r.id = ?2) ORDER BY r.id DESC";
	SqliteStore *q = (SqliteStore *)s;
	int64_t ints[2] = { 0, id };
	sqlite3_stmt *st = prepare(q, sql, "cannot list runs", "ti", &pipeline, ints);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreRun r = {
			.id = sqlite3_column_int64(st, 0), .pipeline = text(st, 1), .script = text(st, 2),
			.script_hash = text(st, 3), .args = text(st, 4), .operator = text(st, 5), .host = text(st, 6),
			.pid = (long)integer(st, 7, 0), .cwd = text(st, 8), .status = text(st, 9), .error = text(st, 10),
			.resumed_from = integer(st, 11, 0), .started_ms = clock_from_iso(text(st, 12)),
			.finished_ms = clock_from_iso(text(st, 13)), .steps = sqlite3_column_int64(st, 14),
			.dry = (int)integer(st, 15, 0),
		};
		stopped = fn(ud, &r);
	}
	return finish(q, st, rc, stopped, "cannot list runs");
}

#define STEP_COLUMNS \
	"s.id, s.run, s.pipeline, s.seq, s.name, s.occurrence, s.kind, s.how, s.instructions," \
	" s.inputs, s.output, s.replayable, s.status, s.error, s.secret, s.candidate_output," \
	" s.candidate_agrees, s.replay_of, s.operator, s.started_at, s.finished_at, s.duration_ms, s.results," \
	" s.secret_hash, s.candidate_source, s.note"

/* The step at the current row of st, in STEP_COLUMNS' order. */
static StoreStep step_row(sqlite3_stmt *st)
{
	StoreStep s = {
		.id = sqlite3_column_int64(st, 0), .run = sqlite3_column_int64(st, 1), .pipeline = text(st, 2),
		.seq = (int)sqlite3_column_int64(st, 3), .name = text(st, 4), .occurrence = (int)sqlite3_column_int64(st, 5),
		.kind = text(st, 6), .how = text(st, 7), .instructions = text(st, 8), .inputs = text(st, 9),
		.output = text(st, 10), .replayable = (int)integer(st, 11, 1), .status = text(st, 12), .error = text(st, 13),
		.secret = (int)integer(st, 14, 0), .candidate_output = text(st, 15),
		.candidate_agrees = (int)integer(st, 16, -1), .replay_of = integer(st, 17, 0), .operator = text(st, 18),
		.started_ms = clock_from_iso(text(st, 19)), .finished_ms = clock_from_iso(text(st, 20)),
		.duration_ms = integer(st, 21, -1), .results = text(st, 22), .secret_hash = text(st, 23),
		.candidate_source = text(st, 24), .note = text(st, 25),
	};
	return s;
}

static int sq_steps(Store *s, const StoreStepFilter *f, StoreStepFn fn, void *ud)
{
	static const char by_seq[] =
		"SELECT " STEP_COLUMNS ", r.status FROM steps s JOIN runs r ON r.id = s.run"
		" WHERE (?1 = 0 OR s.run = ?1) AND (?2 IS NULL OR s.pipeline = ?2) AND (?3 IS NULL OR s.name = ?3)"
		" AND (?4 IS NULL OR s.kind = ?4) ORDER BY s.run, s.seq";
	static const char by_id[] =
		"SELECT " STEP_COLUMNS ", r.status FROM steps s JOIN runs r ON r.id = s.run"
		" WHERE (?1 = 0 OR s.run = ?1) AND (?2 IS NULL OR s.pipeline = ?2) AND (?3 IS NULL OR s.name = ?3)"
		" AND (?4 IS NULL OR s.kind = ?4) ORDER BY s.id";
	SqliteStore *q = (SqliteStore *)s;
	const char *params[4] = { NULL, f->pipeline, f->name, f->kind };
	int64_t ints[4] = { f->run, 0, 0, 0 };
	sqlite3_stmt *st = prepare(q, f->by_id ? by_id : by_seq, "cannot read the steps", "ittt", params, ints);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreStep row = step_row(st);
		row.run_status = text(st, 26);
		stopped = fn(ud, &row);
	}
	return finish(q, st, rc, stopped, "cannot read the steps");
}

static int sq_logs(Store *s, int64_t run, StoreLogFn fn, void *ud)
{
	static const char sql[] = "SELECT id, run, seq, level, message, at FROM logs WHERE ?1 = 0 OR run = ?1 ORDER BY id";
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st = prepare(q, sql, "cannot read the log", "i", NULL, &run);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreLog l = {
			.id = sqlite3_column_int64(st, 0), .run = sqlite3_column_int64(st, 1), .seq = (int)sqlite3_column_int64(st, 2),
			.level = text(st, 3), .message = text(st, 4), .at_ms = clock_from_iso(text(st, 5)),
		};
		stopped = fn(ud, &l);
	}
	return finish(q, st, rc, stopped, "cannot read the log");
}

static int sq_names(Store *s, const char *pipeline, StoreNameFn fn, void *ud)
{
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st = pipeline
		? prepare(q, "SELECT DISTINCT name FROM steps WHERE pipeline = ?1 ORDER BY name", "cannot list the steps", "t", &pipeline, NULL)
		: prepare(q, "SELECT DISTINCT pipeline FROM runs ORDER BY pipeline", "cannot list the pipelines", "", NULL, NULL);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stopped = fn(ud, text(st, 0));
	return finish(q, st, rc, stopped, "cannot list the names");
}

static int64_t sq_resumed_by(Store *s, int64_t run)
{
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st = prepare(q, "SELECT coalesce(max(id), 0) FROM runs WHERE resumed_from = ?1",
	                           "cannot read the run's resumes", "i", NULL, &run);
	int64_t id = -1;
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else
		sq_fail(q, "cannot read the run's resumes");
	sqlite3_finalize(st);
	return id;
}

static int sq_candidate_recent(Store *s, const char *pipeline, const char *step, int n, int *agrees, int *count)
{
	static const char sql[] =
		"SELECT candidate_agrees FROM steps WHERE pipeline = ?1 AND name = ?2 AND kind = 'manual'"
		" AND how IN ('prompt', 'stdin', 'flag') ORDER BY id DESC LIMIT ?3";
	SqliteStore *q = (SqliteStore *)s;
	const char *params[2] = { pipeline, step };
	int64_t ints[3] = { 0, 0, n };
	sqlite3_stmt *st = prepare(q, sql, "cannot read the candidate's record", "tti", params, ints);
	int rc;
	*count = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *count < n)
		agrees[(*count)++] = (int)integer(st, 0, -1);
	return finish(q, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, 0, "cannot read the candidate's record");
}

static int sq_empty(Store *s)
{
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st = prepare(q, "SELECT NOT EXISTS (SELECT 1 FROM runs)", "cannot read the history", "", NULL, NULL);
	int empty = -1;
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		empty = (int)sqlite3_column_int64(st, 0);
	else
		sq_fail(q, "cannot read the history");
	sqlite3_finalize(st);
	return empty;
}

static int sq_ids_max(Store *s, int64_t max[3])
{
	static const char sql[] =
		"SELECT (SELECT coalesce(max(id), 0) FROM runs), (SELECT coalesce(max(id), 0) FROM steps),"
		" (SELECT coalesce(max(id), 0) FROM logs)";
	SqliteStore *q = (SqliteStore *)s;
	sqlite3_stmt *st = prepare(q, sql, "cannot read the history", "", NULL, NULL);
	int rc = SQLITE_ERROR;
	if (!st)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		for (int i = 0; i < 3; i++)
			max[i] = sqlite3_column_int64(st, i);
	return finish(q, st, rc == SQLITE_ROW ? SQLITE_DONE : rc, 0, "cannot read the history");
}

/*
 * SQLite gives the next id past the largest by itself; a copy's ids are
 * held against other runs by its write transactions (a run that takes one
 * first makes the copy fail, loudly, on the key).
 */
static int sq_ids_sync(Store *s, const int64_t at_least[3])
{
	(void)s;
	(void)at_least;
	return 0;
}

/* What report counts: original executions, not replays of them. */
#define PERSON STORE_PERSON_SQL
#define ORIGINAL "how NOT IN ('replay', 'dry') AND (?1 IS NULL OR pipeline = ?1) " STORE_WINDOW
/* Report's window: ?2 is its start (store_sql_window). */
#define WINDOW " AND started_at >= ?2"
/* Answers people gave (not a trusted candidate, not a timeout's default). */
#define ANSWERED "kind = 'manual' AND status = 'ok' AND secret = 0 AND how NOT IN ('candidate', 'default') AND " ORIGINAL
/*
 * People's steps through the index of theirs alone: with no statistics
 * the planner would scan a covering index of every step, and the report's
 * time would grow with the auto steps of the history.
 */
#define PEOPLE "INDEXED BY steps_manual"

/* Call fn for each row of a report query: the row's columns as text and integers. */
static int report_rows(Store *s, const char *pipeline, const StoreReport *fns, Buf *sql)
{
	/*
	 * Per step: counts, human time, its median, the last execution. The
	 * auto counts come from step_totals, or in a window from its rows;
	 * people's answers are counted as they are read (m).
	 */
#define REPORT_STEPS(AUTOS) \
		"SELECT s.pipeline, s.name AS step, coalesce(s.autos, 0) + coalesce(s.manual_executions, 0) AS executions," \
		" coalesce(s.manual_executions, 0) AS manual_executions, coalesce(s.autos, 0) AS auto_executions," \
		" coalesce(s.manual_answers, 0) AS manual_answers," \
		" coalesce(s.distinct_outputs, 0) AS distinct_outputs," \
		" coalesce(s.input_groups, 0) AS input_groups," \
		" coalesce(s.human_ms, 0) AS human_ms, coalesce(s.secret, 0) AS secret," \
		" coalesce(s.distinct_secrets, 0) AS distinct_secrets," \
		" coalesce(s.candidate_runs, 0) AS candidate_runs," \
		" coalesce(s.candidate_agreed, 0) AS candidate_agreed," \
		" CASE WHEN " LAST_AUTO " THEN 'auto' ELSE 'manual' END AS last_kind," \
		" lm.output AS last_answer, lm.operator AS last_operator," \
		" lm.inputs AS last_inputs, lm.candidate_source AS candidate_source," \
		" med.duration_ms AS median_human_ms, CASE WHEN " LAST_AUTO " THEN la.how ELSE lm.how END AS last_how," \
		" coalesce(s.advance_answers, 0) AS advance_answers" \
		" FROM (SELECT coalesce(c.pipeline, m.m_pipeline) AS pipeline, coalesce(c.name, m.m_name) AS name," \
		"   c.autos, c.last_id, m.* FROM " AUTOS " c" \
		"  FULL JOIN (SELECT pipeline AS m_pipeline, name AS m_name, count(*) AS manual_executions," \
		"   sum(status = 'ok' AND how NOT IN ('candidate', 'default')) AS manual_answers," \
		"   count(DISTINCT CASE WHEN status = 'ok' AND how NOT IN ('candidate', 'default') THEN output END)" \
		"     AS distinct_outputs," \
		"   count(DISTINCT CASE WHEN status = 'ok' AND how NOT IN ('candidate', 'default')" \
		"     THEN coalesce(inputs, '') END) AS input_groups," \
		"   sum(CASE WHEN " PERSON " THEN duration_ms END) AS human_ms, max(secret) AS secret," \
		"   count(DISTINCT secret_hash) AS distinct_secrets," \
		"   sum(candidate_agrees IS NOT NULL) AS candidate_runs," \
		"   sum(candidate_agrees) AS candidate_agreed, max(id) AS last_manual_id," \
		"   sum(how IN ('flag', 'stdin')) AS advance_answers" \
		"  FROM steps " PEOPLE " WHERE kind = 'manual' AND " ORIGINAL " GROUP BY pipeline, name) m" \
		"  ON m.m_pipeline = c.pipeline AND m.m_name = c.name) s" \
		" LEFT JOIN steps lm ON lm.id = s.last_manual_id" \
		" LEFT JOIN steps la ON la.id = s.last_id" \
		" LEFT JOIN (SELECT pipeline, name, duration_ms FROM" \
		"   (SELECT pipeline, name, duration_ms," \
		"     row_number() OVER (PARTITION BY pipeline, name ORDER BY duration_ms) AS k," \
		"     count(*) OVER (PARTITION BY pipeline, name) AS n" \
		"    FROM steps " PEOPLE " WHERE kind = 'manual' AND " PERSON " AND " ORIGINAL ")" \
		"   WHERE k = (n + 1) / 2) med ON med.pipeline = s.pipeline AND med.name = s.name" \
		" ORDER BY human_ms DESC, s.pipeline, s.name"
	/* The latest execution was an auto step's: its id is above the last answer's. */
#define LAST_AUTO "coalesce(s.last_id, 0) > coalesce(s.last_manual_id, 0)"
	static const char steps_sql[] = REPORT_STEPS(
		"(SELECT pipeline, name, auto_executions AS autos, last_id FROM step_totals WHERE ?1 IS NULL OR pipeline = ?1)");
	static const char window_steps_sql[] = REPORT_STEPS(
		"(SELECT pipeline, name, count(*) AS autos, max(id) AS last_id"
		"  FROM steps WHERE kind = 'auto' AND " ORIGINAL " GROUP BY pipeline, name)");
#undef LAST_AUTO
#undef REPORT_STEPS
	/* Equal inputs, different answers: each answer with how often. */
	static const char conflicts_sql[] =
		"SELECT s.pipeline, s.name AS step, s.inputs, s.output, count(*) AS n"
		" FROM steps s " PEOPLE " JOIN (SELECT pipeline, name, inputs FROM steps " PEOPLE " WHERE " ANSWERED
		"   GROUP BY pipeline, name, inputs HAVING count(DISTINCT output) > 1) g"
		" ON s.pipeline = g.pipeline AND s.name = g.name AND s.inputs IS g.inputs"
		" WHERE s.kind = 'manual' AND s.status = 'ok' AND s.secret = 0"
		" AND s.how NOT IN ('replay', 'dry', 'candidate', 'default') " STORE_WINDOW
		" GROUP BY s.pipeline, s.name, s.inputs, s.output"
		" ORDER BY s.pipeline, s.name, s.inputs, n DESC, s.output";
	/*
	 * The latest auto output for each inputs, next to what people answered
	 * for the same inputs; only the steps that people answered and code
	 * ran are read (steps_counts holds a step's rows of either kind).
	 */
	static const char checks_sql[] =
		"WITH m AS (SELECT DISTINCT pipeline, name, inputs, output FROM steps " PEOPLE " WHERE " ANSWERED "),"
		" a AS (SELECT pipeline, name, inputs, output FROM steps WHERE id IN"
		"   (SELECT max(id) FROM steps WHERE kind = 'auto' AND status = 'ok' AND how NOT IN ('replay', 'dry') " STORE_WINDOW
		"    AND (pipeline, name) IN (SELECT m.pipeline, m.name FROM m"
		"     JOIN step_totals t ON t.pipeline = m.pipeline AND t.name = m.name) GROUP BY pipeline, name, inputs))"
		" SELECT a.pipeline, a.name AS step, a.inputs, a.output AS auto_output,"
		" m.output AS manual_output, a.output IS m.output AS agrees"
		" FROM a JOIN m ON a.pipeline = m.pipeline AND a.name = m.name AND a.inputs IS m.inputs"
		" ORDER BY a.pipeline, a.name, agrees, a.inputs, m.output";
	static const char disagreements_sql[] =
		"SELECT pipeline, name AS step, inputs, output, candidate_output, error FROM steps"
		" WHERE id IN (SELECT max(id) FROM steps " PEOPLE " WHERE kind = 'manual' AND candidate_agrees = 0"
		"   AND " ORIGINAL " GROUP BY pipeline, name) ORDER BY id";
	/* What people answered, by whom: agreement between people, and the rules the answers follow. */
	static const char answers_sql[] =
		"SELECT pipeline, name, inputs, output, operator, count(*) AS n, max(id) FROM steps " PEOPLE " WHERE " ANSWERED
		" GROUP BY pipeline, name, inputs, output, operator ORDER BY pipeline, name, inputs, output, operator";
	SqliteStore *q = (SqliteStore *)s;
	const char *what = "cannot read the report";
	const char *params[2] = { pipeline, fns->since };
	const char *clause = fns->since ? WINDOW : NULL;
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, stopped = 0;

	if (fns->stats) {
		if (!(st = prepare(q, store_sql_window(clause ? window_steps_sql : steps_sql, clause, sql), what, "tt", params,
		                   NULL)))
			return -1;
		while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			StoreStepStats t = {
				.pipeline = text(st, 0), .step = text(st, 1), .executions = sqlite3_column_int64(st, 2),
				.manual_executions = sqlite3_column_int64(st, 3), .auto_executions = sqlite3_column_int64(st, 4),
				.manual_answers = sqlite3_column_int64(st, 5), .distinct_outputs = sqlite3_column_int64(st, 6),
				.input_groups = sqlite3_column_int64(st, 7), .human_ms = integer(st, 8, 0),
				.secret = (int)integer(st, 9, 0), .distinct_secrets = sqlite3_column_int64(st, 10),
				.candidate_runs = sqlite3_column_int64(st, 11), .candidate_agreed = sqlite3_column_int64(st, 12),
				.last_kind = text(st, 13), .last_answer = text(st, 14), .last_operator = text(st, 15),
				.last_inputs = text(st, 16), .candidate_source = text(st, 17), .median_human_ms = integer(st, 18, -1),
				.last_how = text(st, 19), .advance_answers = sqlite3_column_int64(st, 20),
			};
			stopped = fns->stats(fns->ud, &t);
		}
		if ((stopped = finish(q, st, rc, stopped, what)) != 0)
			return stopped;
	}
	if (fns->conflicts) {
		if (!(st = prepare(q, store_sql_window(conflicts_sql, clause, sql), what, "tt", params, NULL)))
			return -1;
		while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			StoreAnswer a = { .pipeline = text(st, 0), .step = text(st, 1), .inputs = text(st, 2),
			                  .output = text(st, 3), .n = sqlite3_column_int64(st, 4) };
			stopped = fns->conflicts(fns->ud, &a);
		}
		if ((stopped = finish(q, st, rc, stopped, what)) != 0)
			return stopped;
	}
	if (fns->checks) {
		if (!(st = prepare(q, store_sql_window(checks_sql, clause, sql), what, "tt", params, NULL)))
			return -1;
		while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			StoreCheck c = { .pipeline = text(st, 0), .step = text(st, 1), .inputs = text(st, 2),
			                 .auto_output = text(st, 3), .manual_output = text(st, 4),
			                 .agrees = (int)integer(st, 5, 0) };
			stopped = fns->checks(fns->ud, &c);
		}
		if ((stopped = finish(q, st, rc, stopped, what)) != 0)
			return stopped;
	}
	if (fns->disagreements) {
		if (!(st = prepare(q, store_sql_window(disagreements_sql, clause, sql), what, "tt", params, NULL)))
			return -1;
		while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			StoreStep d = { .pipeline = text(st, 0), .name = text(st, 1), .inputs = text(st, 2),
			                .output = text(st, 3), .candidate_output = text(st, 4), .error = text(st, 5),
			                .candidate_agrees = 0, .duration_ms = -1 };
			stopped = fns->disagreements(fns->ud, &d);
		}
		if ((stopped = finish(q, st, rc, stopped, what)) != 0)
			return stopped;
	}
	if (fns->answers) {
		if (!(st = prepare(q, store_sql_window(answers_sql, clause, sql), what, "tt", params, NULL)))
			return -1;
		while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			StoreAnswer a = { .pipeline = text(st, 0), .step = text(st, 1), .inputs = text(st, 2),
			                  .output = text(st, 3), .operator = text(st, 4), .n = sqlite3_column_int64(st, 5),
			                  .last = sqlite3_column_int64(st, 6) };
			stopped = fns->answers(fns->ud, &a);
		}
		if ((stopped = finish(q, st, rc, stopped, what)) != 0)
			return stopped;
	}
	return 0;
}

static int sq_report(Store *s, const char *pipeline, const StoreReport *fns)
{
	Buf sql = { 0 };
	int rc = report_rows(s, pipeline, fns, &sql);
	buf_free(&sql);
	return rc;
}

static int sq_recent(Store *s, const char *pipeline, const char *step, int audits, const char *since, int n,
                     StoreStepFn fn, void *ud)
{
	/* Walked back by id through the index on (pipeline, name). */
	static const char any_sql[] =
		"SELECT kind, how, status, inputs, output, candidate_output, candidate_agrees, operator FROM steps"
		" WHERE pipeline = ?1 AND name = ?3 AND how NOT IN ('replay', 'dry') " STORE_WINDOW " ORDER BY id DESC LIMIT ?5";
	/* The audits, few among the code's executions: the partial index of them (steps_audits) holds no others. */
	static const char audits_sql[] =
		"SELECT kind, how, status, inputs, output, candidate_output, candidate_agrees, operator FROM steps"
		" WHERE pipeline = ?1 AND name = ?3 AND kind = 'auto' AND how = 'audit' " STORE_WINDOW
		" ORDER BY id DESC LIMIT ?5";
	SqliteStore *q = (SqliteStore *)s;
	const char *params[5] = { pipeline, since, step, NULL, NULL };
	int64_t ints[5] = { 0, 0, 0, 0, n };
	const char *types = "tttti", *what = "cannot read the latest executions", *text_of = audits ? audits_sql : any_sql;
	Buf sql = { 0 };
	/* Asked once a step by report: kept prepared, unless a window makes its text new. */
	sqlite3_stmt *st = since ? prepare(q, store_sql_window(text_of, WINDOW, &sql), what, types, params, ints)
	                         : prepare_kept(q, text_of, what, types, params, ints);
	int rc, stopped = 0;
	buf_free(&sql);
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreStep r = { .pipeline = pipeline, .name = step, .kind = text(st, 0), .how = text(st, 1),
		                .status = text(st, 2), .inputs = text(st, 3), .output = text(st, 4),
		                .candidate_output = text(st, 5), .candidate_agrees = (int)integer(st, 6, -1),
		                .operator = text(st, 7), .duration_ms = -1 };
		stopped = fn(ud, &r);
	}
	return finish(q, st, rc, stopped, what);
}

static int sq_latest(Store *s, const char *pipeline, const char *step, const char *inputs, StoreStepFn fn, void *ud)
{
	static const char sql[] =
		"SELECT kind, how, output, results, operator, started_at FROM steps"
		" WHERE pipeline = ?1 AND name = ?2 AND inputs IS ?3 AND status = 'ok' AND secret = 0"
		" AND how NOT IN ('replay', 'dry') AND output IS NOT NULL AND replayable ORDER BY id DESC LIMIT 1";
	SqliteStore *q = (SqliteStore *)s;
	const char *params[3] = { pipeline, step, inputs };
	sqlite3_stmt *st = prepare(q, sql, "cannot read the latest value", "ttt", params, NULL);
	int rc, stopped = 0;
	if (!st)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreStep r = { .pipeline = pipeline, .name = step, .inputs = inputs, .kind = text(st, 0), .how = text(st, 1),
		                .output = text(st, 2), .results = text(st, 3), .operator = text(st, 4),
		                .started_ms = clock_from_iso(text(st, 5)), .status = "ok", .duration_ms = -1 };
		stopped = fn(ud, &r);
		rc = SQLITE_DONE;
	}
	return finish(q, st, rc, stopped, "cannot read the latest value");
}

static int sq_answers(Store *s, const char *pipeline, const char *step, StoreAnswerFn fn, void *ud)
{
	static const char sql[] =
		"SELECT inputs, output, count(*) AS n, max(id) FROM steps"
		" WHERE name = ?2 AND " ANSWERED
		" GROUP BY inputs, output ORDER BY inputs, output";
	SqliteStore *q = (SqliteStore *)s;
	const char *params[2] = { pipeline, step };
	sqlite3_stmt *st = prepare(q, sql, "cannot read the answers", "tt", params, NULL);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreAnswer a = { .pipeline = pipeline, .step = step, .inputs = text(st, 0), .output = text(st, 1),
		                  .n = sqlite3_column_int64(st, 2), .last = sqlite3_column_int64(st, 3) };
		stopped = fn(ud, &a);
	}
	return finish(q, st, rc, stopped, "cannot read the answers");
}

/*
 * Read the key at path: a regular file of exactly 32 bytes, not a symbolic
 * link. 0; 1 when there is none yet; -1 with why in err.
 */
static int key_read(const char *path, unsigned char key[32], Buf *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		buf_addf(err, "%s: cannot read the key for secret answers: %s", path,
		         errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 32 || read(fd, key, 32) != 32) {
		buf_addf(err, "%s: not a key for secret answers (a file of 32 bytes); move it away and"
		         " restore the key from a backup, or secret answers can no longer be compared", path);
	} else {
		static int said;
		rc = 0;
		if ((st.st_mode & 077) && !said++)
			fprintf(stderr, "understudy: warning: %s can be read by others: chmod 600 %s\n", path, path);
	}
	close(fd);
	return rc;
}

static int sq_key_get(Store *s, unsigned char key[32])
{
	int rc;
	buf_reset(&s->err);
	rc = key_read(((SqliteStore *)s)->key_path, key, &s->err);
	return rc < 0 ? -1 : rc == 0;
}

/* Offer a key: made whole in a file of its own, then linked in (nobody reads half a key); the first wins. */
static int sq_key_offer(Store *s, const unsigned char key[32])
{
	const char *path = ((SqliteStore *)s)->key_path;
	char *tmp = NULL;
	int fd, rc = -1;
	if (asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0) {
		store_fail(s, "out of memory");
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0) {
		int written = write(fd, key, 32) == 32 && fsync(fd) == 0;
		close(fd);
		if (written && (link(tmp, path) == 0 || errno == EEXIST))
			rc = 0;
		unlink(tmp);
	}
	if (rc)
		store_fail(s, "%s: cannot make the key for secret answers: %s", path, strerror(errno));
	free(tmp);
	return rc;
}

/* A key that is there must be a good one: checked before any step runs. 0 or -1. */
static int check_key(SqliteStore *q)
{
	unsigned char key[32];
	buf_reset(&q->base.err);
	return key_read(q->key_path, key, &q->base.err) < 0 ? -1 : 0;
}

/* The files of a history: the database, its key, and SQLite's journals. */
static const char *const history_suffixes[] = { "", "-key", "-wal", "-shm", "-journal", "-checked" };
#define NSUFFIXES (sizeof history_suffixes / sizeof history_suffixes[0])

/* Is path one of the history's own files? */
static int history_file(SqliteStore *q, const char *path)
{
	struct stat theirs, mine;
	char *p;
	if (stat(path, &theirs) != 0)
		return 0;
	for (size_t i = 0; i < NSUFFIXES; i++) {
		int same = 0;
		if (asprintf(&p, "%s%s", q->base.where, history_suffixes[i]) < 0)
			return 1;
		same = stat(p, &mine) == 0 && mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
		free(p);
		if (same)
			return 1;
	}
	return 0;
}

/* May a backup replace dest? It is missing, empty, or an understudy history. 0, or -1 with why. */
static int backup_may_replace(SqliteStore *q, const char *dest)
{
	unsigned char head[100];
	struct stat st;
	int fd, ours = 0;
	if (lstat(dest, &st) != 0)
		return errno == ENOENT ? 0 : (buf_addf(&q->base.err, "%s: %s", dest, strerror(errno)), -1);
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return 0;
	if (S_ISREG(st.st_mode) && (fd = open(dest, O_RDONLY | O_CLOEXEC)) >= 0) {
		ours = read(fd, head, sizeof head) == (ssize_t)sizeof head && memcmp(head, "SQLite format 3", 16) == 0 &&
		       ((uint32_t)head[68] << 24 | (uint32_t)head[69] << 16 | (uint32_t)head[70] << 8 | head[71]) == APPLICATION_ID;
		close(fd);
	}
	if (!ours)
		buf_addf(&q->base.err, "%s exists and is not an understudy history; remove it or give another name", dest);
	return ours ? 0 : -1;
}

/* Copy the file src to dst (made 0600) when src exists; 0, or -1 with errno set. */
static int file_copy(const char *src, const char *dst)
{
	char chunk[4096];
	ssize_t n;
	int in = open(src, O_RDONLY | O_CLOEXEC), out, rc = 0;
	if (in < 0)
		return errno == ENOENT ? 0 : -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while (rc == 0 && (n = read(in, chunk, sizeof chunk)) != 0)
		rc = n < 0 || write(out, chunk, (size_t)n) != n ? -1 : 0;
	if (rc == 0)
		rc = fsync(out);
	close(in);
	close(out);
	return rc;
}

/* Remove a half-made copy: the database file and the files beside it. */
static void database_remove(const char *path)
{
	char *p;
	for (size_t i = 0; i < NSUFFIXES; i++)
		if (asprintf(&p, "%s%s", path, history_suffixes[i]) >= 0) {
			unlink(p);
			free(p);
		}
}

static int sq_backup(Store *s, const char *dest)
{
	SqliteStore *q = (SqliteStore *)s;
	const char *path = s->where;
	Buf *err = &s->err;
	sqlite3 *copy = NULL;
	sqlite3_backup *b;
	sqlite3_stmt *st;
	char *tmp = NULL, *dest_key = NULL, *tmp_key = NULL;
	int fd, rc = -1, step;

	buf_reset(err);
	if (asprintf(&tmp, "%s.tmp-%d", dest, (int)getpid()) < 0 || asprintf(&dest_key, "%s-key", dest) < 0 ||
	    asprintf(&tmp_key, "%s-key.tmp-%d", dest, (int)getpid()) < 0) {
		buf_adds(err, "out of memory");
		goto done;
	}
	if (history_file(q, dest) || history_file(q, dest_key)) {
		buf_addf(err, "%s: that is the history itself, or beside it as its own; give another file", dest);
		goto done;
	}
	if (backup_may_replace(q, dest))
		goto done;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		buf_addf(err, "%s: cannot create: %s", tmp, strerror(errno));
		goto done;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &copy, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		buf_addf(err, "%s: cannot open: %s", tmp, copy ? sqlite3_errmsg(copy) : "out of memory");
		goto done;
	}
	/* One step copies every page under one read transaction: a consistent copy. */
	if (!(b = sqlite3_backup_init(copy, "main", q->db, "main"))) {
		buf_addf(err, "%s: cannot copy: %s", dest, sqlite3_errmsg(copy));
		goto done;
	}
	while ((step = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED) {
		if (s->stop && *s->stop)
			break;
		sqlite3_sleep(20);
	}
	sqlite3_backup_finish(b);
	if ((step & 0xff) == SQLITE_CORRUPT || (step & 0xff) == SQLITE_NOTADB) {
		buf_addf(err, "%s: the history is damaged (%s); no backup was written. Save what can be read:"
		         " sqlite3 %s .recover | sqlite3 NEW.db", path, sqlite3_errstr(step), path);
		goto done;
	}
	if (step != SQLITE_DONE) {
		buf_addf(err, "%s: cannot copy the history: %s", path, sqlite3_errstr(step));
		goto done;
	}
	/* The copy is checked whole: a damaged history gives no backup that looks good. */
	if (sqlite3_prepare_v2(copy, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK) {
		buf_addf(err, "%s: cannot check the copy: %s", dest, sqlite3_errmsg(copy));
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		const char *why = sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(copy);
		buf_addf(err, "%s: the history is damaged (%s); no backup was written. Save what can be read:"
		         " sqlite3 %s .recover | sqlite3 NEW.db", path, why, path);
		sqlite3_finalize(st);
		goto done;
	}
	sqlite3_finalize(st);
	if (sqlite3_close(copy) != SQLITE_OK) {
		buf_addf(err, "%s: cannot finish the copy: %s", dest, sqlite3_errmsg(copy));
		goto done;
	}
	copy = NULL;
	/* The key through a file of its own, renamed over DEST-key: a link there is replaced, not followed. */
	if (file_copy(q->key_path, tmp_key) != 0 || (access(tmp_key, F_OK) == 0 && rename(tmp_key, dest_key) != 0)) {
		buf_addf(err, "%s: cannot copy the key for secret answers: %s", dest_key, strerror(errno));
		unlink(tmp_key);
		goto done;
	}
	if (rename(tmp, dest) != 0) {
		buf_addf(err, "%s: cannot put the copy in place: %s", dest, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (copy)
		sqlite3_close(copy);
	if (rc != 0 && tmp)
		database_remove(tmp);
	free(tmp);
	free(dest_key);
	free(tmp_key);
	return rc;
}

/* Run one statement of prepare's kind to its end; 0, or -1 with the error set. */
static int run1(SqliteStore *q, const char *sql, const char *what, const char *types, const char *const *params,
                const int64_t *ints)
{
	sqlite3_stmt *st = prepare(q, sql, what, types, params, ints);
	if (!st)
		return -1;
	return finish(q, st, sqlite3_step(st), 0, what);
}

static int64_t sq_wait_begin(Store *s, const StoreWait *w)
{
	static const char sql[] =
		"INSERT INTO waits (run, pipeline, name, occurrence, type, instructions, inputs, choices, default_value,"
		" candidate, secret, operator, host, pid, since, beat, state) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'waiting')";
	SqliteStore *q = (SqliteStore *)s;
	char since[32];
	clock_iso(w->since_ms, since);
	const char *params[16] = { NULL, w->pipeline, w->step, NULL, w->type, w->instructions, w->inputs, w->choices,
	                           w->default_value, w->candidate, NULL, w->operator, w->host, NULL, since, since };
	int64_t ints[16] = { w->run, 0, 0, w->occurrence, 0, 0, 0, 0, 0, 0, w->secret, 0, 0, w->pid, 0, 0 };
	if (run1(q, sql, "cannot record the waiting step", "ittittttttittitt", params, ints))
		return 0;
	return sqlite3_last_insert_rowid(q->db);
}

static int sq_wait_end(Store *s, int64_t wait, const char *state, const char *by, const char *how, int64_t offer,
                       int64_t now_ms)
{
	static const char beat_sql[] = "UPDATE waits SET beat = ?2 WHERE id = ?1";
	static const char end_sql[] =
		"UPDATE waits SET ended_at = ?2, state = ?3, answered_by = ?4, how = ?5 WHERE id = ?1 AND state = 'waiting'";
	static const char taken_sql[] = "UPDATE offers SET state = 'taken' WHERE id = ?1";
	static const char late_sql[] = "UPDATE offers SET state = 'late' WHERE wait = ?1 AND state = 'offered'";
	SqliteStore *q = (SqliteStore *)s;
	const char *what = "cannot record the waiting step";
	char now[32];
	clock_iso(now_ms, now);
	const char *params[5] = { NULL, now, state, by, how };
	int64_t ints[5] = { wait, 0, 0, 0, 0 }, taken[1] = { offer };
	if (!state)
		return run1(q, beat_sql, what, "it", params, ints);
	if (exec(q, "BEGIN IMMEDIATE", what))
		return -1;
	if (run1(q, end_sql, what, "itttt", params, ints) || (offer && run1(q, taken_sql, what, "i", NULL, taken)) ||
	    run1(q, late_sql, what, "i", NULL, ints) || exec(q, "COMMIT", what)) {
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

#define WAIT_COLUMNS \
	"id, run, pipeline, name, occurrence, type, instructions, inputs, choices, default_value, candidate, secret," \
	" operator, host, pid, since, beat, state, answered_by, how, ended_at"

static int sq_waits(Store *s, const StoreWaitFilter *f, StoreWaitFn fn, void *ud)
{
	static const char all_sql[] =
		"SELECT " WAIT_COLUMNS " FROM waits WHERE (?1 = 0 OR id = ?1) AND (?2 = 0 OR run = ?2)"
		" AND (?3 IS NULL OR pipeline = ?3) AND (?4 IS NULL OR name = ?4) ORDER BY id DESC";
	static const char open_sql[] =
		"SELECT " WAIT_COLUMNS " FROM waits WHERE state = 'waiting' AND (?1 = 0 OR id = ?1) AND (?2 = 0 OR run = ?2)"
		" AND (?3 IS NULL OR pipeline = ?3) AND (?4 IS NULL OR name = ?4) ORDER BY id DESC";
	SqliteStore *q = (SqliteStore *)s;
	const char *params[4] = { NULL, NULL, f->pipeline, f->step };
	int64_t ints[4] = { f->id, f->run, 0, 0 };
	const char *what = "cannot read the waiting steps";
	sqlite3_stmt *st = prepare_kept(q, f->open ? open_sql : all_sql, what, "iitt", params, ints);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreWait w = {
			.id = sqlite3_column_int64(st, 0), .run = sqlite3_column_int64(st, 1), .pipeline = text(st, 2),
			.step = text(st, 3), .occurrence = (int)sqlite3_column_int64(st, 4), .type = text(st, 5),
			.instructions = text(st, 6), .inputs = text(st, 7), .choices = text(st, 8), .default_value = text(st, 9),
			.candidate = text(st, 10), .secret = (int)integer(st, 11, 0), .operator = text(st, 12),
			.host = text(st, 13), .pid = (long)integer(st, 14, 0), .since_ms = clock_from_iso(text(st, 15)),
			.beat_ms = clock_from_iso(text(st, 16)), .state = text(st, 17), .answered_by = text(st, 18),
			.how = text(st, 19), .ended_ms = clock_from_iso(text(st, 20)),
		};
		stopped = fn(ud, &w);
	}
	return finish(q, st, rc, stopped, what);
}

static int64_t sq_offer(Store *s, const StoreOffer *o)
{
	/* One statement: the wait is still waiting when the offer goes in, or nothing goes in. */
	static const char sql[] =
		"INSERT INTO offers (wait, value, note, operator, how, at, state)"
		" SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'offered' WHERE EXISTS (SELECT 1 FROM waits WHERE id = ?1 AND state = 'waiting')";
	SqliteStore *q = (SqliteStore *)s;
	char at[32];
	clock_iso(o->at_ms, at);
	const char *params[6] = { NULL, o->value, o->note, o->operator, o->how, at };
	int64_t ints[6] = { o->wait, 0, 0, 0, 0, 0 };
	if (run1(q, sql, "cannot offer the answer", "ittttt", params, ints))
		return -1;
	return sqlite3_changes(q->db) ? sqlite3_last_insert_rowid(q->db) : 0;
}

static int sq_offers(Store *s, int64_t wait, int64_t id, StoreOfferFn fn, void *ud)
{
	static const char sql[] =
		"SELECT id, wait, value, note, operator, how, at, state, reason FROM offers"
		" WHERE CASE WHEN ?1 = 0 THEN id = ?2 ELSE wait = ?1 AND state = 'offered' END ORDER BY id";
	SqliteStore *q = (SqliteStore *)s;
	int64_t ints[2] = { wait, id };
	const char *what = "cannot read the offered answers";
	sqlite3_stmt *st = prepare_kept(q, sql, what, "ii", NULL, ints);
	int rc, stopped = 0;
	if (!st)
		return -1;
	while (!stopped && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		StoreOffer o = {
			.id = sqlite3_column_int64(st, 0), .wait = sqlite3_column_int64(st, 1), .value = text(st, 2),
			.note = text(st, 3), .operator = text(st, 4), .how = text(st, 5), .at_ms = clock_from_iso(text(st, 6)),
			.state = text(st, 7), .reason = text(st, 8),
		};
		stopped = fn(ud, &o);
	}
	return finish(q, st, rc, stopped, what);
}

static int sq_offer_refuse(Store *s, int64_t offer, const char *reason)
{
	static const char sql[] = "UPDATE offers SET state = 'refused', reason = ?2 WHERE id = ?1 AND state = 'offered'";
	const char *params[2] = { NULL, reason };
	int64_t ints[2] = { offer, 0 };
	return run1((SqliteStore *)s, sql, "cannot refuse the offered answer", "it", params, ints);
}

static int sq_setting_get(Store *s, const char *key, Buf *out)
{
	SqliteStore *q = (SqliteStore *)s;
	const char *what = "cannot read the history's settings";
	sqlite3_stmt *st = prepare(q, "SELECT value FROM settings WHERE key = ?1", what, "t", &key, NULL);
	int rc, found = 0;
	if (!st)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_reset(out);
		buf_adds(out, text(st, 0));
		found = 1;
		rc = SQLITE_DONE;
	}
	return finish(q, st, rc, 0, what) < 0 ? -1 : found;
}

static int sq_setting_put(Store *s, const char *key, const char *value)
{
	static const char sql[] =
		"INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	const char *params[2] = { key, value };
	return run1((SqliteStore *)s, sql, "cannot keep the history's settings", "tt", params, NULL);
}

const StoreMethods store_sqlite_methods = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.run_begin = sq_run_begin,
	.run_finish = sq_run_finish,
	.write = sq_write,
	.write_aside = sq_write_aside,
	.runs = sq_runs,
	.steps = sq_steps,
	.logs = sq_logs,
	.names = sq_names,
	.resumed_by = sq_resumed_by,
	.candidate_recent = sq_candidate_recent,
	.report = sq_report,
	.recent = sq_recent,
	.answers = sq_answers,
	.latest = sq_latest,
	.key_get = sq_key_get,
	.key_offer = sq_key_offer,
	.backup = sq_backup,
	.empty = sq_empty,
	.ids_sync = sq_ids_sync,
	.ids_max = sq_ids_max,
	.wait_begin = sq_wait_begin,
	.wait_end = sq_wait_end,
	.waits = sq_waits,
	.offer = sq_offer,
	.offers = sq_offers,
	.offer_refuse = sq_offer_refuse,
	.setting_get = sq_setting_get,
	.setting_put = sq_setting_put,
};
