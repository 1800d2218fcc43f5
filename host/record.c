/* record.c: the history in SQLite (WAL, busy timeout, BEGIN IMMEDIATE writes). */
#include "record.h"
#include "clock.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <lauxlib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "US" "hi" in ASCII: marks a database as an understudy history. */
#define APPLICATION_ID 0x55536869
#define BUSY_TIMEOUT_MS 60000
#define FLUSH_ROWS 1000       /* pending auto steps that force a flush */
#define FLUSH_MS 250          /* age of the oldest pending step that does */
#define CHUNK_SIZE 65536
#define WAIT_SAY_MS 1000      /* a wait for another process's lock is told after this */
#define QUICK_CHECK_BYTES (8 << 20)   /* histories up to this size are checked at every open */

/* Steps wait here between flushes: rows point into chunks that never move. */
typedef struct Chunk {
	struct Chunk *next;
	size_t used, cap;
	char data[];
} Chunk;

/* A log line waiting for the next flush. */
typedef struct LogRow {
	int64_t run;
	int seq;
	const char *level;
	const char *message;
	int64_t at_ms;
} LogRow;

struct Record {
	sqlite3 *db;
	char *path;
	char *key_path;           /* PATH-key: the key for secret answers */
	int current;              /* the schema is this version's: no migration */
	Buf err;
	sqlite3_stmt *insert_step, *insert_log;
	StepRow *pending;
	size_t npending, cappending;
	LogRow *logs;
	size_t nlogs, caplogs;
	int64_t pending_since_ms;
	Chunk *chunks;
	const volatile sig_atomic_t *stop;   /* non-zero: stop waiting for the lock */
	int64_t busy_since_ms;
	int busy_said;
	int usable;               /* opened, checked, ours: may be written */
	int lost;                 /* pending rows were dropped: nothing more is written */
	/*
	 * Guards the pending rows: the watchdog thread saves them on a
	 * connection of its own when the main thread is stuck in C code.
	 */
	pthread_mutex_t lock;
};

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
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Set the error message: what failed, with SQLite's word on it. */
static void record_fail(Record *r, const char *what)
{
	buf_reset(&r->err);
	buf_addf(&r->err, "%s: %s: %s", r->path, what, sqlite3_errmsg(r->db));
}

const char *record_error(Record *r)
{
	return buf_str(&r->err);
}

const char *record_path(Record *r)
{
	return r->path;
}

/* Run SQL with no result rows; 0 or -1 with the error set. */
static int exec(Record *r, const char *sql, const char *what)
{
	if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		record_fail(r, what);
		return -1;
	}
	return 0;
}

/* One integer from a query with no parameters, or -1 on error. */
static int64_t query_int(Record *r, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * Is the database ours (or empty), and not from a newer version? Only
 * reads: a file that is not ours is never changed. 0, or -1 with the
 * error set.
 */
static int record_check_ours(Record *r)
{
	/* One statement, so one snapshot: another process may be creating the schema. */
	static const char sql[] =
		"SELECT (SELECT user_version FROM pragma_user_version),"
		" (SELECT application_id FROM pragma_application_id),"
		" (SELECT count(*) FROM sqlite_master)";
	int64_t version = -1, app = -1, tables = -1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			version = sqlite3_column_int64(st, 0);
			app = sqlite3_column_int64(st, 1);
			tables = sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	buf_reset(&r->err);
	r->current = app == APPLICATION_ID && version == RECORD_SCHEMA_VERSION;
	if (version < 0 || app < 0 || tables < 0)
		buf_addf(&r->err, "%s: not a usable SQLite database (%s); left untouched", r->path, sqlite3_errmsg(r->db));
	else if (app != APPLICATION_ID && (app != 0 || tables != 0 || version != 0))
		buf_addf(&r->err, "%s: not an understudy history (it holds other data); left untouched", r->path);
	else if (version > RECORD_SCHEMA_VERSION)
		buf_addf(&r->err, "%s: written by a newer understudy (schema %lld; this one knows %d); left untouched",
		         r->path, (long long)version, RECORD_SCHEMA_VERSION);
	return r->err.len ? -1 : 0;
}

/*
 * Put the history in WAL mode, once for all. Switching needs a moment
 * alone with the file, which runs starting together may not give at
 * first: try again for a while.
 */
static int record_use_wal(Record *r)
{
	for (int tries = 0; tries < 500 && !(r->stop && *r->stop); tries++) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(r->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
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
	record_fail(r, "cannot put the history in WAL mode");
	return -1;
}

/* Bring an empty or older database to the current schema. */
static int record_migrate(Record *r)
{
	if (exec(r, "BEGIN IMMEDIATE", "cannot lock the history"))
		return -1;
	/* Checked again under the lock: another process may have got here first. */
	if (record_check_ours(r))
		goto fail;
	int64_t version = query_int(r, "PRAGMA user_version");
	for (int v = (int)version; v < NMIGRATIONS; v++)
		if (exec(r, migrations[v], "cannot create the schema"))
			goto fail;
	if (version < RECORD_SCHEMA_VERSION) {
		char sql[128];
		snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d",
		         APPLICATION_ID, RECORD_SCHEMA_VERSION);
		if (exec(r, sql, "cannot set the schema version"))
			goto fail;
	}
	if (exec(r, "COMMIT", "cannot write the history"))
		goto fail;
	return 0;
fail:
	sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * SQLite's busy handler: another process holds the history. Say so after
 * a second, give up when the host is stopping or after BUSY_TIMEOUT_MS.
 */
static int on_busy(void *ud, int count)
{
	Record *r = ud;
	int64_t now = clock_mono_ms();
	if (count == 0) {
		r->busy_since_ms = now;
		r->busy_said = 0;
	}
	if ((r->stop && *r->stop) || now - r->busy_since_ms >= BUSY_TIMEOUT_MS)
		return 0;
	if (!r->busy_said && now - r->busy_since_ms >= WAIT_SAY_MS) {
		fprintf(stderr, "understudy: waiting for the history %s, held by another run...\n", r->path);
		r->busy_said = 1;
	}
	sqlite3_sleep(10);
	return 1;
}

/*
 * A small history is checked for damage at every open (quick_check reads
 * every page, so a large one is checked by backup instead). 0, or -1
 * with what to do in the error.
 */
static int record_check_damage(Record *r, off_t size)
{
	sqlite3_stmt *st;
	const char *first = NULL;
	int rc;
	if (size > QUICK_CHECK_BYTES)
		return 0;
	if (sqlite3_prepare_v2(r->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
		record_fail(r, "cannot check the history");
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		first = (const char *)sqlite3_column_text(st, 0);
	if (rc == SQLITE_ROW && first && strcmp(first, "ok") == 0) {
		sqlite3_finalize(st);
		return 0;
	}
	buf_reset(&r->err);
	buf_addf(&r->err, "%s: the history is damaged (%s); nothing was written to it. Keep a copy, then"
	         " restore your last backup (understudy backup), or save what can be read:"
	         " sqlite3 %s .recover | sqlite3 NEW.db, and use --db NEW.db",
	         r->path, first ? first : sqlite3_errmsg(r->db), r->path);
	sqlite3_finalize(st);
	return -1;
}

static int record_check_key(Record *r);

static const char insert_step_sql[] =
	"INSERT INTO steps (run, pipeline, seq, name, occurrence, kind, how, instructions,"
	" inputs, output, replayable, status, error, secret, secret_hash, candidate_output,"
	" candidate_agrees, replay_of, operator, started_at, finished_at, duration_ms,"
	" candidate_source, results)"
	" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char insert_log_sql[] = "INSERT INTO logs (run, seq, level, message, at) VALUES (?,?,?,?,?)";

Record *record_open(const char *path, int create, const volatile sig_atomic_t *stop, Buf *err)
{
	Record *r = calloc(1, sizeof *r);
	struct stat st;
	if (!r || !(r->path = strdup(path)) || asprintf(&r->key_path, "%s-key", path) < 0) {
		if (r)
			free(r->path);
		free(r);
		buf_adds(err, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	if (stat(path, &st) != 0) {
		int fd;
		if (!create) {
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
	if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		buf_addf(err, "%s: cannot open: %s", path, r->db ? sqlite3_errmsg(r->db) : "out of memory");
		goto fail;
	}
	r->stop = stop;
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_handler(r->db, on_busy, r);
	/* The WAL stays in place at close: record_close folds it back itself. */
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (record_check_ours(r) || record_check_damage(r, stat(path, &st) == 0 ? st.st_size : 0))
		goto fail_record;
	/*
	 * WAL before any write; only a history that is ours gets here. Commits
	 * are synchronous only where record_flush_durable asks: after a crash
	 * of the process nothing is lost either way, after a power loss only
	 * what was not durable (auto steps, which a resume runs again).
	 */
	if (record_use_wal(r) || exec(r, "PRAGMA synchronous = NORMAL", "cannot set up the journal"))
		goto fail_record;
	if (!r->current && record_migrate(r))
		goto fail_record;
	if (sqlite3_prepare_v3(r->db, insert_step_sql, -1, SQLITE_PREPARE_PERSISTENT, &r->insert_step, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(r->db, insert_log_sql, -1, SQLITE_PREPARE_PERSISTENT, &r->insert_log, NULL) != SQLITE_OK) {
		record_fail(r, "cannot prepare");
		goto fail_record;
	}
	if (create && record_check_key(r))
		goto fail_record;
	r->usable = 1;
	return r;
fail_record:
	buf_adds(err, buf_str(&r->err));
fail:
	record_close(r);
	return NULL;
}

/* Forget the pending rows; keep one ordinary chunk for the next ones. */
static void pending_clear(Record *r)
{
	Chunk *c, *next, *keep = NULL;
	for (c = r->chunks; c; c = next) {
		next = c->next;
		if (!keep && c->cap == CHUNK_SIZE) {
			keep = c;
			keep->next = NULL;
			keep->used = 0;
		} else {
			free(c);
		}
	}
	r->chunks = keep;
	r->npending = 0;
	r->nlogs = 0;
}

void record_close(Record *r)
{
	if (!r)
		return;
	if (r->db && (r->npending || r->nlogs))
		record_flush(r);
	pthread_mutex_lock(&r->lock);   /* the watchdog may be saving the rows: it ends the process */
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_destroy(&r->lock);
	/*
	 * Fold the WAL back into the database and empty it, unless another
	 * process is reading right now (no waiting at exit): a copy of the
	 * database file alone is then the whole history.
	 */
	if (r->usable) {
		sqlite3_busy_handler(r->db, NULL, NULL);
		sqlite3_wal_checkpoint_v2(r->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	}
	pending_clear(r);
	free(r->chunks);
	free(r->pending);
	free(r->logs);
	sqlite3_finalize(r->insert_step);
	sqlite3_finalize(r->insert_log);
	sqlite3_close_v2(r->db);
	buf_free(&r->err);
	free(r->path);
	free(r->key_path);
	free(r);
}

/* Bind text or NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int64_t record_run_begin(Record *r, const RunInfo *run)
{
	static const char sql[] =
		"INSERT INTO runs (pipeline, script, script_hash, args, operator, host, pid,"
		" status, resumed_from, started_at, cwd) VALUES (?,?,?,?,?,?,?,'running',?,?,?)";
	sqlite3_stmt *st;
	char when[32];
	int64_t id = 0;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		record_fail(r, "cannot record the run");
		return 0;
	}
	clock_iso(run->started_ms, when);
	sqlite3_bind_text(st, 1, run->pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, run->script, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, run->script_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, run->args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, run->operator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, run->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, run->pid);
	if (run->resumed_from)
		sqlite3_bind_int64(st, 8, run->resumed_from);
	sqlite3_bind_text(st, 9, when, -1, SQLITE_TRANSIENT);
	bind_text(st, 10, run->cwd);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(r->db);
	else
		record_fail(r, "cannot record the run");
	sqlite3_finalize(st);
	return id;
}

int record_run_finish(Record *r, int64_t run, const char *status, const char *error)
{
	static const char sql[] =
		"UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?";
	sqlite3_stmt *st;
	char when[32];
	int rc = record_flush(r);
	if (r->lost)
		return -1;   /* steps are missing: the run is left running, and shows as abandoned */
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		record_fail(r, "cannot finish the run");
		return -1;
	}
	clock_iso(clock_wall_ms(), when);
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, run);
	if (sqlite3_step(st) != SQLITE_DONE) {
		record_fail(r, "cannot finish the run");
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Copy s into the pending rows' storage; NULL stays NULL. */
static const char *pending_strdup(Record *r, const char *s)
{
	Chunk *c = r->chunks;
	size_t n;
	char *p;
	if (!s)
		return NULL;
	n = strlen(s) + 1;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
		if (!(c = malloc(sizeof *c + cap))) {
			fputs("understudy: out of memory\n", stderr);
			abort();
		}
		c->used = 0;
		c->cap = cap;
		c->next = r->chunks;
		r->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, s, n);
	c->used += n;
	return p;
}

/* Make room for one more element in *array (n used of *cap); 0 or -1. */
static int grow(Record *r, void **array, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	size_t more = *cap ? 2 * *cap : 64;
	void *p = realloc(*array, more * size);
	if (!p) {
		buf_reset(&r->err);
		buf_adds(&r->err, "out of memory");
		return -1;
	}
	*array = p;
	*cap = more;
	return 0;
}

/* Flush when enough rows or time have gathered since the first pending one. */
static int flush_when_due(Record *r)
{
	if (r->npending + r->nlogs == 1)
		r->pending_since_ms = clock_mono_ms();
	if (r->npending + r->nlogs >= FLUSH_ROWS || clock_mono_ms() - r->pending_since_ms >= FLUSH_MS)
		return record_flush(r);
	return 0;
}

int record_log_add(Record *r, int64_t run, int seq, const char *level, const char *message, int64_t at_ms)
{
	LogRow *p;
	if (r->lost)
		return -1;
	pthread_mutex_lock(&r->lock);
	if (grow(r, (void **)&r->logs, r->nlogs, &r->caplogs, sizeof *r->logs)) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	p = &r->logs[r->nlogs];
	p->run = run;
	p->seq = seq;
	p->level = pending_strdup(r, level);
	p->message = pending_strdup(r, message);
	p->at_ms = at_ms;
	r->nlogs++;
	pthread_mutex_unlock(&r->lock);
	return flush_when_due(r);
}

int record_step_add(Record *r, const StepRow *row)
{
	StepRow *p;
	if (r->lost)
		return -1;
	pthread_mutex_lock(&r->lock);
	if (grow(r, (void **)&r->pending, r->npending, &r->cappending, sizeof *r->pending)) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	p = &r->pending[r->npending];
	*p = *row;
	p->pipeline = pending_strdup(r, row->pipeline);
	p->name = pending_strdup(r, row->name);
	p->instructions = pending_strdup(r, row->instructions);
	p->inputs = pending_strdup(r, row->inputs);
	p->output = pending_strdup(r, row->output);
	p->results = pending_strdup(r, row->results);
	p->error = pending_strdup(r, row->error);
	p->secret_hash = pending_strdup(r, row->secret_hash);
	p->candidate_output = pending_strdup(r, row->candidate_output);
	p->candidate_source = pending_strdup(r, row->candidate_source);
	p->operator = pending_strdup(r, row->operator);
	r->npending++;
	pthread_mutex_unlock(&r->lock);
	return flush_when_due(r);
}

/* Insert one step row with st, a prepared insert_step_sql; SQLite's result code. */
static int insert_step(sqlite3_stmt *st, const StepRow *s)
{
	char started[32], finished[32];
	int rc;
	clock_iso(s->started_ms, started);
	clock_iso(s->finished_ms, finished);
	sqlite3_bind_int64(st, 1, s->run);
	bind_text(st, 2, s->pipeline);
	sqlite3_bind_int(st, 3, s->seq);
	bind_text(st, 4, s->name);
	sqlite3_bind_int(st, 5, s->occurrence);
	bind_text(st, 6, s->kind);
	bind_text(st, 7, s->how);
	bind_text(st, 8, s->instructions);
	bind_text(st, 9, s->inputs);
	bind_text(st, 10, s->output);
	sqlite3_bind_int(st, 11, s->replayable);
	bind_text(st, 12, s->status);
	bind_text(st, 13, s->error);
	sqlite3_bind_int(st, 14, s->secret);
	bind_text(st, 15, s->secret_hash);
	bind_text(st, 16, s->candidate_output);
	if (s->candidate_agrees >= 0)
		sqlite3_bind_int(st, 17, s->candidate_agrees);
	else
		sqlite3_bind_null(st, 17);
	if (s->replay_of)
		sqlite3_bind_int64(st, 18, s->replay_of);
	else
		sqlite3_bind_null(st, 18);
	bind_text(st, 19, s->operator);
	sqlite3_bind_text(st, 20, started, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 21, finished, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 22, s->duration_ms);
	bind_text(st, 23, s->candidate_source);
	bind_text(st, 24, s->results);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* Insert one log line with st, a prepared insert_log_sql; SQLite's result code. */
static int insert_log(sqlite3_stmt *st, const LogRow *l)
{
	char at[32];
	int rc;
	clock_iso(l->at_ms, at);
	sqlite3_bind_int64(st, 1, l->run);
	sqlite3_bind_int(st, 2, l->seq);
	bind_text(st, 3, l->level);
	bind_text(st, 4, l->message);
	sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc;
}

/* Insert the pending rows with the two statements (in a transaction of the caller's); 0 or -1. */
static int insert_pending(Record *r, sqlite3_stmt *steps, sqlite3_stmt *logs)
{
	for (size_t i = 0; i < r->npending; i++)
		if (insert_step(steps, &r->pending[i]) != SQLITE_DONE)
			return -1;
	for (size_t i = 0; i < r->nlogs; i++)
		if (insert_log(logs, &r->logs[i]) != SQLITE_DONE)
			return -1;
	return 0;
}

/*
 * Commit what is pending; durable: synchronously, to survive a power
 * loss. On failure the rows are dropped and the history is marked lost:
 * what was reported lost is never written later, and nothing after it.
 */
static int flush(Record *r, int durable)
{
	int rc = -1;
	if (r->lost)
		return -1;
	if (r->npending == 0 && r->nlogs == 0)
		return 0;
	pthread_mutex_lock(&r->lock);
	if (durable && exec(r, "PRAGMA synchronous = FULL", "cannot set up the journal"))
		goto done;
	if (exec(r, "BEGIN IMMEDIATE", "cannot lock the history"))
		goto done;
	if (insert_pending(r, r->insert_step, r->insert_log)) {
		record_fail(r, "cannot record a step");
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	if (exec(r, "COMMIT", "cannot commit to the history")) {
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		goto done;
	}
	rc = 0;
done:
	if (durable && sqlite3_exec(r->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK && rc == 0)
		rc = -1, record_fail(r, "cannot set up the journal");
	if (rc != 0)
		r->lost = 1;
	pending_clear(r);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int record_flush(Record *r)
{
	return flush(r, 0);
}

int record_flush_durable(Record *r)
{
	return flush(r, 1);
}

/* Push the current row of st as a table keyed by column name ([-0, +1]). */
static void push_row(lua_State *L, sqlite3_stmt *st, int cols)
{
	lua_createtable(L, 0, cols);
	for (int i = 0; i < cols; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			lua_pushinteger(L, sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			lua_pushnumber(L, sqlite3_column_double(st, i));
			break;
		case SQLITE_NULL:
			continue;
		default:
			lua_pushlstring(L, (const char *)sqlite3_column_text(st, i),
			                (size_t)sqlite3_column_bytes(st, i));
		}
		lua_setfield(L, -2, sqlite3_column_name(st, i));
	}
}

/* Push each row of st as a table keyed by column name ([-0, +1]). */
static int push_rows(Record *r, lua_State *L, sqlite3_stmt *st, const char *what)
{
	int rc, n = 0, cols = sqlite3_column_count(st);
	lua_newtable(L);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		push_row(L, st, cols);
		lua_rawseti(L, -2, ++n);
	}
	if (rc != SQLITE_DONE) {
		record_fail(r, what);
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}

/* Prepare a query, bind text parameters (NULLs allowed), push its rows. */
static int query(Record *r, lua_State *L, const char *sql, const char *what,
                 int nparams, const char *const *params)
{
	sqlite3_stmt *st;
	int rc;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		record_fail(r, what);
		return -1;
	}
	for (int i = 0; i < nparams; i++)
		bind_text(st, i + 1, params[i]);
	rc = push_rows(r, L, st, what);
	sqlite3_finalize(st);
	return rc;
}

#define RUN_COLUMNS \
	"r.id, r.pipeline, r.script, r.script_hash, r.args, r.operator, r.host, r.pid, r.cwd," \
	" r.status, r.error, r.resumed_from, r.started_at, r.finished_at," \
	" (SELECT count(*) FROM steps s WHERE s.run = r.id) AS steps"

int record_query_runs(Record *r, lua_State *L, const char *pipeline)
{
	static const char sql[] =
		"SELECT " RUN_COLUMNS " FROM runs r"
		" WHERE ?1 IS NULL OR r.pipeline = ?1 ORDER BY r.id DESC";
	return query(r, L, sql, "cannot list runs", 1, &pipeline);
}

#define STEP_COLUMNS \
	"s.id, s.run, s.pipeline, s.seq, s.name, s.occurrence, s.kind, s.how, s.instructions," \
	" s.inputs, s.output, s.replayable, s.status, s.error, s.secret, s.candidate_output," \
	" s.candidate_agrees, s.replay_of, s.operator, s.started_at, s.finished_at, s.duration_ms, s.results"

int record_query_run(Record *r, lua_State *L, int64_t id)
{
	static const char run_sql[] = "SELECT " RUN_COLUMNS " FROM runs r WHERE r.id = ?1";
	static const char steps_sql[] =
		"SELECT " STEP_COLUMNS " FROM steps s WHERE s.run = ?1 ORDER BY s.seq";
	char idtext[24];
	const char *param = idtext;
	snprintf(idtext, sizeof idtext, "%lld", (long long)id);
	if (query(r, L, run_sql, "cannot read the run", 1, &param))
		return -1;
	if (lua_rawgeti(L, -1, 1) == LUA_TNIL) {
		lua_remove(L, -2);
		return 0;
	}
	lua_remove(L, -2);
	if (query(r, L, steps_sql, "cannot read the run's steps", 1, &param)) {
		lua_pop(L, 1);
		return -1;
	}
	lua_setfield(L, -2, "steps");
	if (query(r, L, "SELECT seq, level, message, at FROM logs WHERE run = ?1 ORDER BY id",
	          "cannot read the run's log", 1, &param)) {
		lua_pop(L, 1);
		return -1;
	}
	lua_setfield(L, -2, "logs");
	return 0;
}

int record_query_history(Record *r, lua_State *L, const char *pipeline, const char *step)
{
	static const char sql[] =
		"SELECT " STEP_COLUMNS " FROM steps s"
		" WHERE s.pipeline = ?1 AND (?2 IS NULL OR s.name = ?2) ORDER BY s.run, s.seq";
	const char *params[2] = { pipeline, step };
	return query(r, L, sql, "cannot read the history", 2, params);
}

int64_t record_run_resumed_by(Record *r, int64_t run)
{
	sqlite3_stmt *st;
	int64_t id = -1;
	if (sqlite3_prepare_v2(r->db, "SELECT coalesce(max(id), 0) FROM runs WHERE resumed_from = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, run);
		if (sqlite3_step(st) == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (id < 0)
		record_fail(r, "cannot read the run's resumes");
	return id;
}

/* What report counts: original executions, not replays of them. */
#define ORIGINAL "how <> 'replay' AND (?1 IS NULL OR pipeline = ?1)"
/* Answers people gave (not a trusted candidate, not a timeout's default). */
#define ANSWERED "kind = 'manual' AND status = 'ok' AND secret = 0 AND how NOT IN ('candidate', 'default') AND " ORIGINAL

int record_query_report(Record *r, lua_State *L, const char *pipeline)
{
	/* Per step: counts, human time, its median, the last execution. */
	static const char steps_sql[] =
		"SELECT c.pipeline, c.step, c.executions, c.manual_executions, c.auto_executions,"
		" coalesce(m.manual_answers, 0) AS manual_answers,"
		" coalesce(m.distinct_outputs, 0) AS distinct_outputs,"
		" coalesce(m.input_groups, 0) AS input_groups,"
		" coalesce(m.human_ms, 0) AS human_ms, coalesce(m.secret, 0) AS secret,"
		" coalesce(m.distinct_secrets, 0) AS distinct_secrets,"
		" coalesce(m.candidate_runs, 0) AS candidate_runs,"
		" coalesce(m.candidate_agreed, 0) AS candidate_agreed,"
		" l.kind AS last_kind, lm.output AS last_answer, lm.operator AS last_operator,"
		" lm.inputs AS last_inputs, lm.candidate_source AS candidate_source,"
		" med.duration_ms AS median_human_ms"
		" FROM (SELECT pipeline, name AS step, count(*) AS executions,"
		"   sum(kind = 'manual') AS manual_executions, sum(kind = 'auto') AS auto_executions,"
		"   max(id) AS last_id"
		"  FROM steps WHERE " ORIGINAL " GROUP BY pipeline, name) c"
		" LEFT JOIN (SELECT pipeline, name,"
		"   sum(status = 'ok' AND how NOT IN ('candidate', 'default')) AS manual_answers,"
		"   count(DISTINCT CASE WHEN status = 'ok' AND how NOT IN ('candidate', 'default') THEN output END)"
		"     AS distinct_outputs,"
		"   count(DISTINCT CASE WHEN status = 'ok' AND how NOT IN ('candidate', 'default')"
		"     THEN coalesce(inputs, '') END) AS input_groups,"
		"   sum(duration_ms) AS human_ms, max(secret) AS secret,"
		"   count(DISTINCT secret_hash) AS distinct_secrets,"
		"   sum(candidate_agrees IS NOT NULL) AS candidate_runs,"
		"   sum(candidate_agrees) AS candidate_agreed, max(id) AS last_manual_id"
		"  FROM steps WHERE kind = 'manual' AND " ORIGINAL " GROUP BY pipeline, name) m"
		" ON m.pipeline = c.pipeline AND m.name = c.step"
		" JOIN steps l ON l.id = c.last_id"
		" LEFT JOIN steps lm ON lm.id = m.last_manual_id"
		" LEFT JOIN (SELECT pipeline, name, duration_ms FROM"
		"   (SELECT pipeline, name, duration_ms,"
		"     row_number() OVER (PARTITION BY pipeline, name ORDER BY duration_ms) AS k,"
		"     count(*) OVER (PARTITION BY pipeline, name) AS n"
		"    FROM steps WHERE kind = 'manual' AND " ORIGINAL ")"
		"   WHERE k = (n + 1) / 2) med ON med.pipeline = c.pipeline AND med.name = c.step"
		" ORDER BY human_ms DESC, c.pipeline, c.step";
	/* Equal inputs, different answers: each answer with how often. */
	static const char conflicts_sql[] =
		"SELECT s.pipeline, s.name AS step, s.inputs, s.output, count(*) AS n"
		" FROM steps s JOIN (SELECT pipeline, name, inputs FROM steps WHERE " ANSWERED
		"   GROUP BY pipeline, name, inputs HAVING count(DISTINCT output) > 1) g"
		" ON s.pipeline = g.pipeline AND s.name = g.name AND s.inputs IS g.inputs"
		" WHERE s.kind = 'manual' AND s.status = 'ok' AND s.secret = 0"
		" AND s.how NOT IN ('replay', 'candidate', 'default')"
		" GROUP BY s.pipeline, s.name, s.inputs, s.output"
		" ORDER BY s.pipeline, s.name, s.inputs, n DESC, s.output";
	/*
	 * The latest auto output for each inputs, next to what people answered
	 * for the same inputs; only the steps that people answered are read.
	 */
	static const char checks_sql[] =
		"WITH m AS (SELECT DISTINCT pipeline, name, inputs, output FROM steps WHERE " ANSWERED "),"
		" a AS (SELECT pipeline, name, inputs, output FROM steps WHERE id IN"
		"   (SELECT max(id) FROM steps WHERE kind = 'auto' AND status = 'ok' AND how <> 'replay'"
		"    AND (pipeline, name) IN (SELECT pipeline, name FROM m) GROUP BY pipeline, name, inputs))"
		" SELECT a.pipeline, a.name AS step, a.inputs, a.output AS auto_output,"
		" m.output AS manual_output, a.output IS m.output AS agrees"
		" FROM a JOIN m ON a.pipeline = m.pipeline AND a.name = m.name AND a.inputs IS m.inputs"
		" ORDER BY a.pipeline, a.name, agrees, a.inputs";
	/* Candidates: agreements since the last disagreement, and that disagreement. */
	static const char streaks_sql[] =
		"SELECT s.pipeline, s.name AS step, count(*) AS streak FROM steps s"
		" WHERE s.kind = 'manual' AND s.candidate_agrees = 1 AND s.how <> 'replay'"
		" AND (?1 IS NULL OR s.pipeline = ?1)"
		" AND s.id > coalesce((SELECT max(d.id) FROM steps d WHERE d.kind = 'manual'"
		"   AND d.pipeline = s.pipeline AND d.name = s.name AND d.how IN ('prompt', 'stdin', 'flag')"
		"   AND (d.candidate_agrees IS NULL OR d.candidate_agrees = 0)), 0)"
		" GROUP BY s.pipeline, s.name";
	static const char disagreements_sql[] =
		"SELECT pipeline, name AS step, inputs, output, candidate_output, error FROM steps"
		" WHERE id IN (SELECT max(id) FROM steps WHERE kind = 'manual' AND candidate_agrees = 0"
		"   AND " ORIGINAL " GROUP BY pipeline, name)";
	const struct { const char *field, *sql; } parts[] = {
		{ "streaks", streaks_sql }, { "disagreements", disagreements_sql }, { "steps", steps_sql },
		{ "conflicts", conflicts_sql }, { "checks", checks_sql },
	};
	lua_createtable(L, 0, 5);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if (query(r, L, parts[i].sql, "cannot read the report", 1, &pipeline))
			goto fail;
		lua_setfield(L, -2, parts[i].field);
	}
	return 0;
fail:
	lua_pop(L, 1);
	return -1;
}

int record_query_answers(Record *r, lua_State *L, const char *pipeline, const char *step)
{
	static const char sql[] =
		"SELECT inputs, output, count(*) AS n FROM steps"
		" WHERE name = ?2 AND " ANSWERED
		" GROUP BY inputs, output ORDER BY inputs, output";
	const char *params[2] = { pipeline, step };
	return query(r, L, sql, "cannot read the answers", 2, params);
}

/* Calls f(row) for one row: run under protection so the statement is finalized. */
static int each_row_call(lua_State *L)
{
	lua_call(L, 1, 0);
	return 0;
}

int record_each_step(Record *r, lua_State *L, const char *pipeline)
{
	static const char sql[] =
		"SELECT " STEP_COLUMNS ", r.status AS run_status FROM steps s JOIN runs r ON r.id = s.run"
		" WHERE ?1 IS NULL OR s.pipeline = ?1 ORDER BY s.id";
	sqlite3_stmt *st;
	int rc, cols, fn = lua_gettop(L);
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		record_fail(r, "cannot read the history");
		lua_pop(L, 1);
		return -1;
	}
	bind_text(st, 1, pipeline);
	cols = sqlite3_column_count(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		lua_pushcfunction(L, each_row_call);
		lua_pushvalue(L, fn);
		push_row(L, st, cols);
		if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
			sqlite3_finalize(st);
			lua_remove(L, fn);
			return lua_error(L);
		}
	}
	if (rc != SQLITE_DONE)
		record_fail(r, "cannot read the history");
	sqlite3_finalize(st);
	lua_remove(L, fn);
	return rc == SQLITE_DONE ? 0 : -1;
}

int record_candidate_streak(Record *r, const char *pipeline, const char *step, int n)
{
	static const char sql[] =
		"SELECT candidate_agrees FROM steps WHERE pipeline = ?1 AND name = ?2 AND kind = 'manual'"
		" AND how IN ('prompt', 'stdin', 'flag') ORDER BY id DESC LIMIT ?3";
	sqlite3_stmt *st;
	int streak = 0, rc;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		record_fail(r, "cannot read the candidate's record");
		return -1;
	}
	sqlite3_bind_text(st, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, step, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
	       sqlite3_column_int(st, 0) == 1)
		streak++;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		record_fail(r, "cannot read the candidate's record");
		streak = -1;
	}
	sqlite3_finalize(st);
	return streak;
}

int record_query_names(Record *r, lua_State *L, const char *pipeline)
{
	if (pipeline)
		return query(r, L, "SELECT DISTINCT name FROM steps WHERE pipeline = ?1 ORDER BY name",
		             "cannot list the steps", 1, &pipeline);
	return query(r, L, "SELECT DISTINCT pipeline AS name FROM runs ORDER BY pipeline",
	             "cannot list the pipelines", 0, NULL);
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

int record_secret_key(Record *r, unsigned char key[32])
{
	const char *path = r->key_path;
	char *tmp = NULL;
	int fd, rc = -1;
	buf_reset(&r->err);
	if (asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0) {
		buf_adds(&r->err, "out of memory");
		goto done;
	}
	if ((rc = key_read(path, key, &r->err)) <= 0)
		goto done;
	/* None yet: made whole in a file of its own, then linked in: nobody reads half a key. */
	rc = -1;
	if (getrandom(key, 32, 0) != 32 || (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		buf_addf(&r->err, "%s: cannot make the key for secret answers: %s", path, strerror(errno));
		goto done;
	}
	int written = write(fd, key, 32) == 32 && fsync(fd) == 0;
	close(fd);
	if (written && link(tmp, path) == 0)
		rc = 0;
	else if (written && errno == EEXIST)
		rc = key_read(path, key, &r->err) == 0 ? 0 : -1;   /* another run made it first */
	else
		buf_addf(&r->err, "%s: cannot make the key for secret answers: %s", path, strerror(errno));
	unlink(tmp);
done:
	free(tmp);
	return rc;
}

/* A key that is there must be a good one: checked before any step runs. 0 or -1. */
static int record_check_key(Record *r)
{
	unsigned char key[32];
	buf_reset(&r->err);
	return key_read(r->key_path, key, &r->err) < 0 ? -1 : 0;
}

/* The files of a history: the database, its key, and SQLite's journals. */
static const char *const history_suffixes[] = { "", "-key", "-wal", "-shm", "-journal" };
#define NSUFFIXES (sizeof history_suffixes / sizeof history_suffixes[0])

/* Is path one of the history's own files? */
static int history_file(Record *r, const char *path)
{
	struct stat theirs, mine;
	char *p;
	if (stat(path, &theirs) != 0)
		return 0;
	for (size_t i = 0; i < NSUFFIXES; i++) {
		int same = 0;
		if (asprintf(&p, "%s%s", r->path, history_suffixes[i]) < 0)
			return 1;
		same = stat(p, &mine) == 0 && mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
		free(p);
		if (same)
			return 1;
	}
	return 0;
}

/* May a backup replace dest? It is missing, empty, or an understudy history. 0, or -1 with why. */
static int backup_may_replace(Record *r, const char *dest)
{
	unsigned char head[100];
	struct stat st;
	int fd, ours = 0;
	if (lstat(dest, &st) != 0)
		return errno == ENOENT ? 0 : (buf_addf(&r->err, "%s: %s", dest, strerror(errno)), -1);
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return 0;
	if (S_ISREG(st.st_mode) && (fd = open(dest, O_RDONLY | O_CLOEXEC)) >= 0) {
		ours = read(fd, head, sizeof head) == (ssize_t)sizeof head && memcmp(head, "SQLite format 3", 16) == 0 &&
		       ((uint32_t)head[68] << 24 | (uint32_t)head[69] << 16 | (uint32_t)head[70] << 8 | head[71]) == APPLICATION_ID;
		close(fd);
	}
	if (!ours)
		buf_addf(&r->err, "%s exists and is not an understudy history; remove it or give another name", dest);
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

int record_backup(Record *r, const char *dest)
{
	sqlite3 *copy = NULL;
	sqlite3_backup *b;
	sqlite3_stmt *st;
	char *tmp = NULL, *dest_key = NULL, *tmp_key = NULL;
	int fd, rc = -1, step;

	buf_reset(&r->err);
	if (asprintf(&tmp, "%s.tmp-%d", dest, (int)getpid()) < 0 || asprintf(&dest_key, "%s-key", dest) < 0 ||
	    asprintf(&tmp_key, "%s-key.tmp-%d", dest, (int)getpid()) < 0) {
		buf_adds(&r->err, "out of memory");
		goto done;
	}
	if (history_file(r, dest) || history_file(r, dest_key)) {
		buf_addf(&r->err, "%s: that is the history itself, or beside it as its own; give another file", dest);
		goto done;
	}
	if (backup_may_replace(r, dest))
		goto done;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		buf_addf(&r->err, "%s: cannot create: %s", tmp, strerror(errno));
		goto done;
	}
	close(fd);
	if (sqlite3_open_v2(tmp, &copy, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		buf_addf(&r->err, "%s: cannot open: %s", tmp, copy ? sqlite3_errmsg(copy) : "out of memory");
		goto done;
	}
	/* One step copies every page under one read transaction: a consistent copy. */
	if (!(b = sqlite3_backup_init(copy, "main", r->db, "main"))) {
		buf_addf(&r->err, "%s: cannot copy: %s", dest, sqlite3_errmsg(copy));
		goto done;
	}
	while ((step = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || step == SQLITE_LOCKED) {
		if (r->stop && *r->stop)
			break;
		sqlite3_sleep(20);
	}
	sqlite3_backup_finish(b);
	if ((step & 0xff) == SQLITE_CORRUPT || (step & 0xff) == SQLITE_NOTADB) {
		buf_addf(&r->err, "%s: the history is damaged (%s); no backup was written. Save what can be read:"
		         " sqlite3 %s .recover | sqlite3 NEW.db", r->path, sqlite3_errstr(step), r->path);
		goto done;
	}
	if (step != SQLITE_DONE) {
		buf_addf(&r->err, "%s: cannot copy the history: %s", r->path, sqlite3_errstr(step));
		goto done;
	}
	/* The copy is checked whole: a damaged history gives no backup that looks good. */
	if (sqlite3_prepare_v2(copy, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK) {
		buf_addf(&r->err, "%s: cannot check the copy: %s", dest, sqlite3_errmsg(copy));
		goto done;
	}
	if (sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		const char *why = sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(copy);
		buf_addf(&r->err, "%s: the history is damaged (%s); no backup was written. Save what can be read:"
		         " sqlite3 %s .recover | sqlite3 NEW.db", r->path, why, r->path);
		sqlite3_finalize(st);
		goto done;
	}
	sqlite3_finalize(st);
	if (sqlite3_close(copy) != SQLITE_OK) {
		buf_addf(&r->err, "%s: cannot finish the copy: %s", dest, sqlite3_errmsg(copy));
		goto done;
	}
	copy = NULL;
	/* The key through a file of its own, renamed over DEST-key: a link there is replaced, not followed. */
	if (file_copy(r->key_path, tmp_key) != 0 || (access(tmp_key, F_OK) == 0 && rename(tmp_key, dest_key) != 0)) {
		buf_addf(&r->err, "%s: cannot copy the key for secret answers: %s", dest_key, strerror(errno));
		unlink(tmp_key);
		goto done;
	}
	if (rename(tmp, dest) != 0) {
		buf_addf(&r->err, "%s: cannot put the copy in place: %s", dest, strerror(errno));
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

int record_mark_interrupted(Record *r, int64_t run, const char *error)
{
	static const char sql[] =
		"UPDATE runs SET status = 'interrupted', error = ?1, finished_at = ?2 WHERE id = ?3 AND status = 'running'";
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *steps = NULL, *logs = NULL;
	struct timespec until;
	char when[32];
	int rc = -1, locked;
	/* The main thread is stuck outside the record, so the rows are free; but do not wait for ever. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	locked = pthread_mutex_timedlock(&r->lock, &until) == 0;
	if (sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto done;
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto done;
	if (locked && !r->lost && (r->npending || r->nlogs) &&
	    (sqlite3_prepare_v2(db, insert_step_sql, -1, &steps, NULL) != SQLITE_OK ||
	     sqlite3_prepare_v2(db, insert_log_sql, -1, &logs, NULL) != SQLITE_OK || insert_pending(r, steps, logs)))
		goto done;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto done;
	clock_iso(clock_wall_ms(), when);
	sqlite3_bind_text(st, 1, error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, run);
	if (sqlite3_step(st) == SQLITE_DONE && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		rc = 0;
done:
	sqlite3_finalize(st);
	sqlite3_finalize(steps);
	sqlite3_finalize(logs);
	sqlite3_close(db);   /* an open transaction is rolled back */
	return rc;   /* the lock stays held: the caller ends the process */
}
