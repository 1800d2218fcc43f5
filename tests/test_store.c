/*
 * test_store.c: unit tests of the history's store, the same checks on
 * every backend; prints "ok"/"FAIL" lines. The target must be new: a
 * path that does not exist yet, or an empty PostgreSQL database, e.g.
 *   build/test_store /tmp/t.db
 *   pg_virtualenv -v 15 sh -c 'createdb t && build/test_store postgresql:///t'
 * Checks named "[sqlite]" or "[postgresql]" are that backend's alone.
 */
#include "store.h"
#include "clock.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T0 1764288000123LL   /* 2025-11-28T00:00:00.123Z: times are this plus a little */

static int failures;
static const char *target;
static int is_pg;

/* Print "ok NAME", or "FAIL NAME: why" (printf-style) and count it. */
static void check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	if (ok) {
		printf("ok %s\n", name);
		return;
	}
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* Compare two texts of rows: show both when they differ. */
static void same(const char *name, Buf *got, const char *want)
{
	check(strcmp(buf_str(got), want) == 0, name, "\n  got:\n%s  want:\n%s", buf_str(got), want);
}

/* A field of a row's text: NULL shows as "~". */
static void field_text(Buf *b, const char *s)
{
	buf_adds(b, s ? s : "~");
	buf_addc(b, '|');
}

static void field_int(Buf *b, int64_t v)
{
	buf_addf(b, "%lld|", (long long)v);
}

/* A run as one line of text. */
static void run_text(Buf *b, const StoreRun *r)
{
	field_int(b, r->id);
	field_text(b, r->pipeline);
	field_text(b, r->script);
	field_text(b, r->script_hash);
	field_text(b, r->args);
	field_text(b, r->operator);
	field_text(b, r->host);
	field_int(b, r->pid);
	field_text(b, r->cwd);
	field_text(b, r->status);
	field_text(b, r->error);
	field_int(b, r->resumed_from);
	field_int(b, r->started_ms);
	field_int(b, r->finished_ms);
	field_int(b, r->steps);
	buf_addc(b, '\n');
}

/* A step as one line of text (without its id unless with_id, never run_status). */
static void step_text(Buf *b, const StoreStep *s, int with_id)
{
	if (with_id)
		field_int(b, s->id);
	field_int(b, s->run);
	field_text(b, s->pipeline);
	field_int(b, s->seq);
	field_text(b, s->name);
	field_int(b, s->occurrence);
	field_text(b, s->kind);
	field_text(b, s->how);
	field_text(b, s->instructions);
	field_text(b, s->inputs);
	field_text(b, s->output);
	field_text(b, s->results);
	field_int(b, s->replayable);
	field_text(b, s->status);
	field_text(b, s->error);
	field_int(b, s->secret);
	field_text(b, s->secret_hash);
	field_text(b, s->candidate_output);
	field_int(b, s->candidate_agrees);
	field_text(b, s->candidate_source);
	field_int(b, s->replay_of);
	field_text(b, s->operator);
	field_int(b, s->started_ms);
	field_int(b, s->finished_ms);
	field_int(b, s->duration_ms);
	buf_addc(b, '\n');
}

static void log_text(Buf *b, const StoreLog *l, int with_id)
{
	if (with_id)
		field_int(b, l->id);
	field_int(b, l->run);
	field_int(b, l->seq);
	field_text(b, l->level);
	field_text(b, l->message);
	field_int(b, l->at_ms);
	buf_addc(b, '\n');
}

static void stats_text(Buf *b, const StoreStepStats *t)
{
	field_text(b, t->pipeline);
	field_text(b, t->step);
	field_int(b, t->executions);
	field_int(b, t->manual_executions);
	field_int(b, t->auto_executions);
	field_int(b, t->manual_answers);
	field_int(b, t->distinct_outputs);
	field_int(b, t->input_groups);
	field_int(b, t->human_ms);
	field_int(b, t->median_human_ms);
	field_int(b, t->secret);
	field_int(b, t->distinct_secrets);
	field_int(b, t->candidate_runs);
	field_int(b, t->candidate_agreed);
	field_text(b, t->last_kind);
	field_text(b, t->last_answer);
	field_text(b, t->last_operator);
	field_text(b, t->last_inputs);
	field_text(b, t->candidate_source);
	buf_addc(b, '\n');
}

/* The callbacks: each row as a line in the Buf ud. */
static int collect_run(void *ud, const StoreRun *r)
{
	run_text(ud, r);
	return 0;
}

static int collect_step(void *ud, const StoreStep *s)
{
	step_text(ud, s, 0);
	return 0;
}

static int collect_step_id(void *ud, const StoreStep *s)
{
	step_text(ud, s, 1);
	return 0;
}

/* Steps with their run's status, for the export. */
static int collect_step_export(void *ud, const StoreStep *s)
{
	buf_addf(ud, "%lld %s %s\n", (long long)s->id, s->name, s->run_status ? s->run_status : "~");
	return 0;
}

static int collect_log(void *ud, const StoreLog *l)
{
	log_text(ud, l, 0);
	return 0;
}

static int collect_log_id(void *ud, const StoreLog *l)
{
	log_text(ud, l, 1);
	return 0;
}

static int collect_name(void *ud, const char *name)
{
	buf_addf(ud, "%s\n", name);
	return 0;
}

static int collect_stats(void *ud, const StoreStepStats *t)
{
	stats_text(ud, t);
	return 0;
}

static int collect_answer(void *ud, const StoreAnswer *a)
{
	Buf *b = ud;
	field_text(b, a->pipeline);
	field_text(b, a->step);
	field_text(b, a->inputs);
	field_text(b, a->output);
	field_int(b, a->n);
	buf_addc(b, '\n');
	return 0;
}

static int collect_check(void *ud, const StoreCheck *c)
{
	Buf *b = ud;
	field_text(b, c->pipeline);
	field_text(b, c->step);
	field_text(b, c->inputs);
	field_text(b, c->auto_output);
	field_text(b, c->manual_output);
	field_int(b, c->agrees);
	buf_addc(b, '\n');
	return 0;
}

static int collect_disagreement(void *ud, const StoreStep *s)
{
	Buf *b = ud;
	field_text(b, s->pipeline);
	field_text(b, s->name);
	field_text(b, s->inputs);
	field_text(b, s->output);
	field_text(b, s->candidate_output);
	field_text(b, s->error);
	buf_addc(b, '\n');
	return 0;
}

/* Callbacks that stop the query at the first row with 7. */
static int stop_run(void *ud, const StoreRun *r)
{
	(void)r;
	++*(int *)ud;
	return 7;
}

static int stop_step(void *ud, const StoreStep *s)
{
	(void)s;
	++*(int *)ud;
	return 7;
}

/* Count the steps, and check their ids rise. */
typedef struct Count {
	int64_t n, last_id;
	int rising;
} Count;

static int count_step(void *ud, const StoreStep *s)
{
	Count *c = ud;
	if (s->id <= c->last_id)
		c->rising = 0;
	c->last_id = s->id;
	c->n++;
	return 0;
}

/* The id of each step, in the order read. */
typedef struct Ids {
	int64_t id[64];
	int n;
} Ids;

static int collect_id(void *ud, const StoreStep *s)
{
	Ids *ids = ud;
	if (ids->n < 64)
		ids->id[ids->n++] = s->id;
	return 0;
}

/* The largest log id. */
static int max_log_id(void *ud, const StoreLog *l)
{
	int64_t *max = ud;
	if (l->id > *max)
		*max = l->id;
	return 0;
}

static Store *open_store(int create, Buf *err)
{
	static const volatile sig_atomic_t no_stop = 0;
	buf_reset(err);
	return store_open(target, create, &no_stop, err);
}

/* Run SQL on the target's own database with a connection of the test's (setting a version, adding tables). */
static int sql_on_target(const char *pg_sql, const char *sqlite_sql)
{
	int ok = 0;
	if (is_pg) {
		const char *keys[] = { "dbname", "application_name", NULL };
		const char *values[] = { strcmp(target, "postgresql:") == 0 ? "" : target, "understudy-test", NULL };
		PGconn *conn = PQconnectdbParams(keys, values, 1);
		PGresult *res = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, pg_sql) : NULL;
		ok = res && (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
		if (!ok)
			printf("  (sql failed: %s)\n", PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
	} else {
		sqlite3 *db;
		ok = sqlite3_open_v2(target, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
		     sqlite3_exec(db, sqlite_sql, NULL, NULL, NULL) == SQLITE_OK;
		sqlite3_close(db);
	}
	return ok;
}

/* The runs of the first part. */
static StoreRun run_a = {
	.pipeline = "deploy", .script = "deploy.lua", .script_hash = "abc123", .args = "[\"x\",\"y z\"]",
	.operator = "alice", .host = "h1", .pid = 42, .cwd = "/work", .started_ms = T0,
};
static StoreRun run_b = {
	.pipeline = "deploy", .script = NULL, .script_hash = "abc123", .args = "[]", .operator = "bob",
	.host = "h2", .pid = 43, .cwd = "/work", .started_ms = T0 + 1000,
};
static StoreRun run_c = { .pipeline = "Zeta", .args = "[]", .pid = 44, .started_ms = T0 + 2000 };
static StoreRun run_d = { .pipeline = "alpha", .args = "[]", .pid = 45, .started_ms = T0 + 3000 };

/* Steps of run A: every kind of field, NULLs and text beyond ASCII. */
static StoreStep steps_a[] = {
	{ .pipeline = "deploy", .seq = 1, .name = "fetch", .occurrence = 1, .kind = "auto", .how = "run",
	  .inputs = "{\"u\":\"caf\xc3\xa9\"}", .output = "\"ok\"", .results = "[1,2]", .replayable = 1, .status = "ok",
	  .candidate_agrees = -1, .operator = "alice", .started_ms = T0 + 10, .finished_ms = T0 + 20, .duration_ms = 10 },
	{ .pipeline = "deploy", .seq = 2, .name = "approve", .occurrence = 1, .kind = "manual", .how = "prompt",
	  .instructions = "Approve the release?", .output = "true", .replayable = 1, .status = "ok",
	  .candidate_output = "true", .candidate_agrees = 1, .candidate_source = "deploy.lua:3-5", .operator = "alice",
	  .started_ms = T0 + 21, .finished_ms = T0 + 1521, .duration_ms = 1500 },
	{ .pipeline = "deploy", .seq = 3, .name = "pin", .occurrence = 1, .kind = "manual", .how = "prompt",
	  .inputs = "{}", .replayable = 0, .status = "ok", .secret = 1, .secret_hash = "hh", .candidate_output = "false",
	  .candidate_agrees = 0, .operator = "alice", .started_ms = T0 + 1522, .finished_ms = T0 + 1999,
	  .duration_ms = 477 },
	{ .pipeline = "deploy", .seq = 4, .name = "fail", .occurrence = 2, .kind = "auto", .how = "run",
	  .inputs = "[\"a\\nb\"]", .replayable = 1, .status = "failed", .error = "boom\nsecond line",
	  .candidate_agrees = -1, .operator = "alice", .started_ms = T0 + 2000, .finished_ms = 0, .duration_ms = -1 },
};
static StoreLog logs_a[] = {
	{ .seq = 1, .level = "info", .message = "fetched caf\xc3\xa9", .at_ms = T0 + 15 },
	{ .seq = 2, .level = "warn", .message = "", .at_ms = T0 + 1600 },
	{ .seq = 4, .level = "error", .message = "line\nbreak", .at_ms = T0 + 2001 },
};

/* Write runs and steps; check what comes back, field for field. */
static void check_rows(Store *s)
{
	const StoreMethods *m = s->m;
	Buf got = { 0 }, want = { 0 };
	StoreStepFilter f = { 0 };
	int64_t replayed_id;
	int stops = 0, rc;
	Ids ids = { .n = 0 };

	check(m->empty(s) == 1, "empty when new", "empty gave %d", m->empty(s));
	run_a.id = m->run_begin(s, &run_a);
	run_b.resumed_from = run_a.id;
	run_b.id = m->run_begin(s, &run_b);
	run_c.id = m->run_begin(s, &run_c);
	run_d.id = m->run_begin(s, &run_d);
	check(run_a.id > 0 && run_b.id > run_a.id && run_c.id > run_b.id && run_d.id > run_c.id, "run_begin gives rising ids",
	      "%lld %lld %lld %lld: %s", (long long)run_a.id, (long long)run_b.id, (long long)run_c.id, (long long)run_d.id,
	      store_error(s));
	check(m->empty(s) == 0, "not empty with runs", "empty gave %d", m->empty(s));

	for (size_t i = 0; i < 4; i++)
		steps_a[i].run = run_a.id;
	for (size_t i = 0; i < 3; i++)
		logs_a[i].run = run_a.id;
	rc = m->write(s, steps_a, 2, logs_a, 2, 0);
	check(rc == 0, "write, not durable", "%s", store_error(s));
	rc = m->write(s, steps_a + 2, 2, logs_a + 2, 1, 1);
	check(rc == 0, "write, durable", "%s", store_error(s));

	f.run = run_a.id;
	m->steps(s, &f, collect_id, &ids);
	replayed_id = ids.n ? ids.id[0] : 0;
	check(ids.n == 4 && ids.id[0] > 0 && ids.id[1] > ids.id[0] && ids.id[2] > ids.id[1] && ids.id[3] > ids.id[2],
	      "steps get rising ids", "%d steps", ids.n);
	StoreStep replay = steps_a[0];
	replay.seq = 1;
	replay.how = "replay";
	replay.replay_of = replayed_id;
	replay.started_ms = T0 + 1100;
	replay.finished_ms = T0 + 1100;
	replay.duration_ms = 0;
	replay.run = run_b.id;
	check(m->write(s, &replay, 1, NULL, 0, 0) == 0, "write a replay", "%s", store_error(s));
	check(m->run_finish(s, run_a.id, "ok", NULL, T0 + 5000) == 0, "run_finish", "%s", store_error(s));
	check(m->run_finish(s, run_b.id, "failed", "it broke: \xc3\xa9", T0 + 6000) == 0, "run_finish with an error", "%s",
	      store_error(s));

	/* Runs: newest first, with every field. */
	StoreRun a = run_a, b = run_b, c = run_c, d = run_d;
	a.status = "ok", a.finished_ms = T0 + 5000, a.steps = 4;
	b.status = "failed", b.error = "it broke: \xc3\xa9", b.finished_ms = T0 + 6000, b.steps = 1;
	c.status = d.status = "running";
	buf_reset(&want);
	run_text(&want, &d);
	run_text(&want, &c);
	run_text(&want, &b);
	run_text(&want, &a);
	rc = m->runs(s, NULL, 0, collect_run, &got);
	same("runs, all, newest first", &got, buf_str(&want));
	buf_reset(&got);
	buf_reset(&want);
	run_text(&want, &b);
	run_text(&want, &a);
	m->runs(s, "deploy", 0, collect_run, &got);
	same("runs of a pipeline", &got, buf_str(&want));
	buf_reset(&got);
	buf_reset(&want);
	run_text(&want, &a);
	m->runs(s, NULL, run_a.id, collect_run, &got);
	same("one run by id", &got, buf_str(&want));
	buf_reset(&got);
	rc = m->runs(s, NULL, 0, stop_run, &stops);
	check(rc == 7 && stops == 1, "runs: a callback's value stops the query", "rc %d after %d rows", rc, stops);

	/* Steps: by run then seq, by id, filtered. */
	buf_reset(&want);
	for (size_t i = 0; i < 4; i++) {
		steps_a[i].id = ids.id[i];
		step_text(&want, &steps_a[i], 1);
	}
	buf_reset(&got);
	f = (StoreStepFilter){ .run = run_a.id };
	m->steps(s, &f, collect_step_id, &got);
	same("steps of a run come back field for field", &got, buf_str(&want));
	buf_reset(&got);
	buf_reset(&want);
	step_text(&want, &steps_a[0], 0);
	step_text(&want, &replay, 0);
	f = (StoreStepFilter){ .pipeline = "deploy", .name = "fetch" };
	m->steps(s, &f, collect_step, &got);
	same("steps of a pipeline and name", &got, buf_str(&want));
	buf_reset(&got);
	buf_reset(&want);
	step_text(&want, &replay, 0);
	f = (StoreStepFilter){ .run = run_b.id, .pipeline = "deploy" };
	m->steps(s, &f, collect_step, &got);
	same("steps of a run and pipeline, replay_of kept", &got, buf_str(&want));
	buf_reset(&got);
	buf_reset(&want);
	for (size_t i = 0; i < 4; i++)
		buf_addf(&want, "%lld %s ok\n", (long long)ids.id[i], steps_a[i].name);
	buf_addf(&want, "%lld fetch failed\n", (long long)(ids.id[3] + 1));
	f = (StoreStepFilter){ .by_id = 1 };
	m->steps(s, &f, collect_step_export, &got);
	same("steps by id, with the run's status", &got, buf_str(&want));
	buf_reset(&got);
	f = (StoreStepFilter){ .pipeline = "nothing" };
	m->steps(s, &f, collect_step, &got);
	same("steps of an unknown pipeline: none", &got, "");
	stops = 0;
	f = (StoreStepFilter){ .by_id = 1 };
	rc = m->steps(s, &f, stop_step, &stops);
	check(rc == 7 && stops == 1, "steps: a callback's value stops the query", "rc %d after %d rows", rc, stops);

	/* Logs. */
	buf_reset(&got);
	buf_reset(&want);
	for (size_t i = 0; i < 3; i++)
		log_text(&want, &logs_a[i], 0);
	m->logs(s, run_a.id, collect_log, &got);
	same("logs of a run", &got, buf_str(&want));
	buf_reset(&got);
	m->logs(s, 0, collect_log, &got);
	same("logs of all runs", &got, buf_str(&want));
	buf_reset(&got);
	m->logs(s, run_b.id, collect_log, &got);
	same("logs of a run without any", &got, "");

	/* Names: bytewise order. */
	buf_reset(&got);
	m->names(s, NULL, collect_name, &got);
	same("names of pipelines, bytewise", &got, "Zeta\nalpha\ndeploy\n");
	buf_reset(&got);
	m->names(s, "deploy", collect_name, &got);
	same("names of a pipeline's steps", &got, "approve\nfail\nfetch\npin\n");

	check(m->resumed_by(s, run_a.id) == run_b.id, "resumed_by", "%lld", (long long)m->resumed_by(s, run_a.id));
	check(m->resumed_by(s, run_b.id) == 0, "resumed_by: none", "%lld", (long long)m->resumed_by(s, run_b.id));
	buf_free(&got);
	buf_free(&want);
}

/*
 * The report's data set, pipeline "rep": run 1 has the manual answers,
 * run 2 auto executions of the same step. I1..I5 are inputs.
 */
#define I1 "{\"a\":1}"
#define I2 "{\"a\":2}"
#define M(SEQ, NAME, HOW, INPUTS, OUTPUT, STATUS, DUR, AGREES, OP, SRC) \
	{ .pipeline = "rep", .seq = SEQ, .name = NAME, .occurrence = 1, .kind = "manual", .how = HOW, \
	  .inputs = INPUTS, .output = OUTPUT, .replayable = 1, .status = STATUS, .candidate_agrees = AGREES, \
	  .candidate_source = SRC, .operator = OP, .started_ms = T0, .finished_ms = T0 + 1, .duration_ms = DUR }
#define A(SEQ, NAME, HOW, INPUTS, OUTPUT) \
	{ .pipeline = "rep", .seq = SEQ, .name = NAME, .occurrence = 1, .kind = "auto", .how = HOW, \
	  .inputs = INPUTS, .output = OUTPUT, .replayable = 1, .status = "ok", .candidate_agrees = -1, \
	  .started_ms = T0, .finished_ms = T0 + 1, .duration_ms = 0 }
static StoreStep steps_rep1[] = {
	M(1, "ask", "prompt", I1, "\"yes\"", "ok", 100, 1, "ann", "r.lua:1-2"),
	M(2, "ask", "prompt", I2, "\"no\"", "ok", 300, 0, "bob", NULL),
	M(3, "ask", "flag", I1, "\"no\"", "ok", 50, -1, "cat", NULL),
	M(4, "ask", "replay", I1, "\"yes\"", "ok", 5, -1, "cat", NULL),
	M(5, "ask", "default", "{\"a\":3}", "\"yes\"", "ok", 1000, -1, "cat", NULL),
	M(6, "ask", "candidate", "{\"a\":4}", "\"yes\"", "ok", 10, 1, "cat", "r.lua:1-2"),
	M(7, "ask", "stdin", I1, "\"yes\"", "ok", 200, 1, "dan", "r.lua:1-2"),
	M(8, "ask", "prompt", "{\"a\":5}", NULL, "failed", 400, -1, "eve", NULL),
	M(9, "pin", "prompt", NULL, NULL, "ok", 20, -1, "hal", NULL),
	M(10, "pin", "prompt", NULL, NULL, "ok", 40, -1, "hal", NULL),
	M(11, "pin", "prompt", NULL, NULL, "ok", 30, -1, "hal", NULL),
	M(12, "ask", "prompt", NULL, "\"no\"", "ok", 60, 1, "fay", NULL),
	M(13, "ask", "prompt", NULL, "\"yes\"", "ok", 70, 1, "gus", "r.lua:1-2"),
	/* No duration: the median counts it first, as the smallest. */
	M(14, "pin", "prompt", NULL, NULL, "failed", -1, -1, "hal", NULL),
};
static StoreStep steps_rep2[] = {
	A(1, "ask", "run", I1, "\"no\""),
	A(2, "ask", "run", I1, "\"yes\""),
	A(3, "ask", "run", I2, "\"no\""),
	A(4, "ask", "run", "{\"a\":9}", "\"x\""),
	A(5, "ask", "replay", I2, "\"zzz\""),
	A(6, "calc", "run", I1, "1"),
	A(7, "Zed", "run", I1, "2"),
	A(8, "ask", "run", NULL, "\"no\""),
};
#undef M
#undef A

/* The report's numbers on a known data set, and the answers and the candidate's record. */
static void check_report(Store *s)
{
	const StoreMethods *m = s->m;
	Buf got = { 0 }, dis = { 0 };
	StoreRun r = { .pipeline = "rep", .args = "[]", .started_ms = T0 };
	int64_t r1 = m->run_begin(s, &r), r2 = m->run_begin(s, &r);
	int agrees[16], count = -1;
	StoreReport fns = { .stats = collect_stats, .ud = &got };

	steps_rep1[8].secret = steps_rep1[9].secret = steps_rep1[10].secret = steps_rep1[13].secret = 1;
	steps_rep1[8].secret_hash = steps_rep1[10].secret_hash = "h1";
	steps_rep1[9].secret_hash = "h2";
	steps_rep1[1].candidate_output = "\"yes\"";
	for (size_t i = 0; i < sizeof steps_rep1 / sizeof steps_rep1[0]; i++)
		steps_rep1[i].run = r1;
	for (size_t i = 0; i < sizeof steps_rep2 / sizeof steps_rep2[0]; i++)
		steps_rep2[i].run = r2;
	check(m->write(s, steps_rep1, sizeof steps_rep1 / sizeof steps_rep1[0], NULL, 0, 1) == 0 &&
	      m->write(s, steps_rep2, sizeof steps_rep2 / sizeof steps_rep2[0], NULL, 0, 0) == 0,
	      "write the report's data", "%s", store_error(s));

	/*
	 * pipeline|step|executions|manual|auto|answers|distinct|input groups|human|median|secret|secrets|cand
	 * runs|agreed|last kind|answer|operator|inputs|source. Human time is a person's at a prompt only:
	 * ask's is 100 + 300 + 400 + 60 + 70, never a flag's, a default's, a candidate's or stdin's.
	 */
	m->report(s, "rep", &fns);
	same("report: stats per step", &got,
	     "rep|ask|14|9|5|6|2|3|930|100|0|0|6|5|auto|\"yes\"|gus|~|r.lua:1-2|\n"
	     "rep|pin|4|4|0|3|0|1|90|20|1|2|0|0|manual|~|hal|~|~|\n"
	     "rep|Zed|1|0|1|0|0|0|0|-1|0|0|0|0|auto|~|~|~|~|\n"
	     "rep|calc|1|0|1|0|0|0|0|-1|0|0|0|0|auto|~|~|~|~|\n");
	buf_reset(&got);
	fns = (StoreReport){ .conflicts = collect_answer, .ud = &got };
	m->report(s, "rep", &fns);
	same("report: conflicts", &got,
	     "rep|ask|~|\"no\"|1|\n"
	     "rep|ask|~|\"yes\"|1|\n"
	     "rep|ask|" I1 "|\"yes\"|2|\n"
	     "rep|ask|" I1 "|\"no\"|1|\n");
	buf_reset(&got);
	fns = (StoreReport){ .checks = collect_check, .ud = &got };
	m->report(s, "rep", &fns);
	same("report: checks", &got,
	     "rep|ask|~|\"no\"|\"yes\"|0|\n"
	     "rep|ask|" I1 "|\"yes\"|\"no\"|0|\n"
	     "rep|ask|~|\"no\"|\"no\"|1|\n"
	     "rep|ask|" I1 "|\"yes\"|\"yes\"|1|\n"
	     "rep|ask|" I2 "|\"no\"|\"no\"|1|\n");
	buf_reset(&got);
	fns = (StoreReport){ .disagreements = collect_disagreement, .ud = &got };
	m->report(s, "rep", &fns);
	same("report: disagreements", &got, "rep|ask|" I2 "|\"no\"|\"yes\"|~|\n");
	buf_reset(&got);
	m->report(s, NULL, &fns);
	same("report of every pipeline: disagreements", &got, "deploy|pin|{}|~|false|~|\nrep|ask|" I2 "|\"no\"|\"yes\"|~|\n");
	buf_reset(&got);
	fns = (StoreReport){ .stats = collect_stats, .conflicts = collect_answer, .checks = collect_check,
	                     .disagreements = collect_disagreement, .ud = &dis };
	m->report(s, "nothing", &fns);
	same("report of an unknown pipeline: nothing", &dis, "");

	m->answers(s, "rep", "ask", collect_answer, &got);
	same("answers", &got,
	     "rep|ask|~|\"no\"|1|\n"
	     "rep|ask|~|\"yes\"|1|\n"
	     "rep|ask|" I1 "|\"no\"|1|\n"
	     "rep|ask|" I1 "|\"yes\"|2|\n"
	     "rep|ask|" I2 "|\"no\"|1|\n");
	buf_reset(&got);
	m->answers(s, NULL, "pin", collect_answer, &got);
	same("answers: none for secrets", &got, "");

	check(m->candidate_recent(s, "rep", "ask", 16, agrees, &count) == 0 && count == 7 && agrees[0] == 1 &&
	      agrees[1] == 1 && agrees[2] == -1 && agrees[3] == 1 && agrees[4] == -1 && agrees[5] == 0 && agrees[6] == 1,
	      "candidate_recent", "count %d", count);
	check(m->candidate_recent(s, "rep", "ask", 3, agrees, &count) == 0 && count == 3 && agrees[2] == -1,
	      "candidate_recent: at most n", "count %d", count);
	check(m->candidate_recent(s, "rep", "none", 3, agrees, &count) == 0 && count == 0,
	      "candidate_recent: none", "count %d", count);
	check(store_candidate_streak(s, "rep", "ask", 10) == 2, "candidate streak", "%d",
	      store_candidate_streak(s, "rep", "ask", 10));
	buf_free(&got);
	buf_free(&dis);
}

/* Rows given ids keep them; after ids_sync new rows get larger ones. */
static void check_ids(Store *s)
{
	const StoreMethods *m = s->m;
	StoreRun r = { .id = 1000, .pipeline = "copy", .args = "[]", .status = "ok", .error = "e", .started_ms = T0,
	               .finished_ms = T0 + 9 };
	StoreStep st = { .id = 5000, .pipeline = "copy", .seq = 1, .name = "s", .occurrence = 1, .kind = "auto",
	                 .how = "run", .replayable = 1, .status = "ok", .candidate_agrees = -1, .started_ms = T0,
	                 .finished_ms = T0, .duration_ms = 0 };
	StoreLog l = { .id = 7000, .seq = 1, .level = "info", .message = "m", .at_ms = T0 };
	StoreStepFilter f = { .pipeline = "copy" };
	Ids ids = { .n = 0 };
	Buf got = { 0 }, want = { 0 };
	int64_t id, max_log = 0;

	id = m->run_begin(s, &r);
	check(id == 1000, "a run given an id keeps it", "%lld: %s", (long long)id, store_error(s));
	st.run = l.run = 1000;
	check(m->write(s, &st, 1, &l, 1, 0) == 0, "write rows given ids", "%s", store_error(s));
	r.steps = 1;
	run_text(&want, &r);
	m->runs(s, NULL, 1000, collect_run, &got);
	same("a copied run comes back whole", &got, buf_str(&want));
	buf_reset(&got);
	buf_reset(&want);
	log_text(&want, &l, 1);
	m->logs(s, 1000, collect_log_id, &got);
	same("a log line given an id keeps it", &got, buf_str(&want));
	check(m->ids_sync(s, NULL) == 0, "ids_sync", "%s", store_error(s));
	r.id = 0;
	r.status = NULL;
	id = m->run_begin(s, &r);
	check(id > 1000, "after ids_sync, a new run's id is past the copied ones", "%lld", (long long)id);
	st.id = 0;
	st.seq = 2;
	l.id = 0;
	m->write(s, &st, 1, &l, 1, 0);
	m->steps(s, &f, collect_id, &ids);
	check(ids.n == 2 && ids.id[0] == 5000 && ids.id[1] > 5000, "a step given an id keeps it; a new one goes past it",
	      "%d steps, %lld %lld", ids.n, (long long)ids.id[0], (long long)ids.id[1]);
	m->logs(s, 1000, max_log_id, &max_log);
	check(max_log > 7000, "a new log line goes past the copied ones", "%lld", (long long)max_log);
	check(m->ids_sync(s, NULL) == 0, "ids_sync again changes nothing", "%s", store_error(s));
	buf_free(&got);
	buf_free(&want);
}

/* Many rows in one write, read back whole by id. */
static void check_many(Store *s)
{
	const StoreMethods *m = s->m;
	enum { N = 3000 };
	StoreRun r = { .pipeline = "many", .args = "[]", .started_ms = T0 };
	StoreStep *rows = calloc(N, sizeof *rows);
	StoreStepFilter f = { .pipeline = "many", .by_id = 1 };
	Count c = { 0, 0, 1 };
	int64_t run = m->run_begin(s, &r);
	for (int i = 0; i < N; i++)
		rows[i] = (StoreStep){ .run = run, .pipeline = "many", .seq = i + 1, .name = "n", .occurrence = i + 1,
		                       .kind = "auto", .how = "run", .output = "1", .replayable = 1, .status = "ok",
		                       .candidate_agrees = -1, .started_ms = T0 + i, .finished_ms = T0 + i, .duration_ms = 0 };
	check(m->write(s, rows, N, NULL, 0, 0) == 0, "write 3000 steps at once", "%s", store_error(s));
	m->steps(s, &f, count_step, &c);
	check(c.n == N && c.rising, "read 3000 steps by id", "%lld steps, rising %d", (long long)c.n, c.rising);
	free(rows);
}

/* Text that is not UTF-8 (a script's own bytes): SQLite keeps it, PostgreSQL writes U+FFFD for each bad byte. */
static void check_bytes(Store *s)
{
	const StoreMethods *m = s->m;
	StoreRun r = { .pipeline = "b\xff", .args = "[]", .started_ms = T0 };
	StoreStep st = { .pipeline = "b\xff", .seq = 1, .name = "s", .occurrence = 1, .kind = "manual", .how = "prompt",
	                 .instructions = "i\xff", .replayable = 1, .status = "failed", .error = "bad \xfe\xc3",
	                 .candidate_agrees = -1, .started_ms = T0, .finished_ms = T0 };
	StoreStepFilter f = { .pipeline = "b\xff" };
	Buf got = { 0 }, want = { 0 };
	st.run = m->run_begin(s, &r);
	check(st.run > 0 && m->write(s, &st, 1, NULL, 0, 0) == 0, "write text that is not UTF-8", "%s", store_error(s));
	if (is_pg) {
		st.pipeline = "b\xef\xbf\xbd";
		st.instructions = "i\xef\xbf\xbd";
		st.error = "bad \xef\xbf\xbd\xef\xbf\xbd";
	}
	step_text(&want, &st, 0);
	m->steps(s, &f, collect_step, &got);
	same(is_pg ? "text that is not UTF-8 comes back with U+FFFD, found by the same filter [postgresql]"
	           : "text that is not UTF-8 comes back as it was [sqlite]", &got, buf_str(&want));
	buf_free(&got);
	buf_free(&want);
}

/* A batch with a bad row writes nothing, and the next batch goes in. */
static void check_failed_batch(Store *s)
{
	const StoreMethods *m = s->m;
	StoreRun r = { .pipeline = "bad", .args = "[]", .started_ms = T0 };
	StoreStep rows[2] = {
		{ .pipeline = "bad", .seq = 1, .name = "good", .occurrence = 1, .kind = "auto", .how = "run",
		  .replayable = 1, .status = "ok", .candidate_agrees = -1, .started_ms = T0, .finished_ms = T0 },
		{ .pipeline = "bad", .seq = 2, .name = NULL, .occurrence = 1, .kind = "auto", .how = "run",
		  .replayable = 1, .status = "ok", .candidate_agrees = -1, .started_ms = T0, .finished_ms = T0 },
	};
	StoreStepFilter f = { .pipeline = "bad" };
	Count c = { 0, 0, 1 };
	int64_t run = m->run_begin(s, &r);
	rows[0].run = rows[1].run = run;
	check(m->write(s, rows, 2, NULL, 0, 0) == -1 && strstr(store_error(s), "cannot record a step"),
	      "a batch with a bad row fails", "%s", store_error(s));
	m->steps(s, &f, count_step, &c);
	check(c.n == 0, "a failed batch writes nothing", "%lld steps", (long long)c.n);
	check(m->write(s, rows, 1, NULL, 0, 1) == 0, "the next batch goes in", "%s", store_error(s));
	m->steps(s, &f, count_step, &c);
	check(c.n == 1, "the next batch's step is there", "%lld steps", (long long)c.n);
}

/* The watchdog's write: on a connection of its own, rows and the run marked interrupted. */
static void check_aside(Store *s)
{
	const StoreMethods *m = s->m;
	StoreRun r = { .pipeline = "aside", .args = "[]", .started_ms = T0 };
	StoreStep st = { .pipeline = "aside", .seq = 1, .name = "s", .occurrence = 1, .kind = "auto", .how = "run",
	                 .replayable = 1, .status = "ok", .candidate_agrees = -1, .started_ms = T0, .finished_ms = T0,
	                 .duration_ms = 3 };
	StoreLog l = { .seq = 1, .level = "info", .message = "before", .at_ms = T0 };
	Buf got = { 0 }, want = { 0 };
	int64_t run = m->run_begin(s, &r);
	st.run = l.run = run;
	check(m->write_aside(s, &st, 1, &l, 1, run, "interrupted: the script did not stop") == 0, "write_aside", "%s",
	      store_error(s));
	step_text(&want, &st, 0);
	StoreStepFilter f = { .run = run };
	m->steps(s, &f, collect_step, &got);
	same("write_aside: its step is there", &got, buf_str(&want));
	buf_reset(&got);
	m->runs(s, NULL, run, collect_run, &got);
	check(strstr(buf_str(&got), "|interrupted|interrupted: the script did not stop|") != NULL,
	      "write_aside: the run is interrupted", "%s", buf_str(&got));
	check(m->run_finish(s, run, "ok", NULL, T0 + 10) == 0 && m->write_aside(s, NULL, 0, NULL, 0, run, "late") == 0,
	      "write_aside of a finished run", "%s", store_error(s));
	buf_reset(&got);
	m->runs(s, NULL, run, collect_run, &got);
	check(strstr(buf_str(&got), "|ok|~|") != NULL, "write_aside leaves a finished run as it is", "%s", buf_str(&got));
	buf_free(&got);
	buf_free(&want);
}

/* Writes through store.c: rows queued, then committed by a flush. */
static void check_queue(Store *s)
{
	StoreRun r = { .pipeline = "queue", .args = "[]", .started_ms = T0 };
	StoreStep st = { .pipeline = "queue", .seq = 1, .name = "q", .occurrence = 1, .kind = "manual", .how = "prompt",
	                 .output = "1", .replayable = 1, .status = "ok", .candidate_agrees = -1, .started_ms = T0,
	                 .finished_ms = T0, .duration_ms = 5 };
	StoreStepFilter f = { .pipeline = "queue" };
	Count c = { 0, 0, 1 };
	int64_t run = store_run_begin(s, &r);
	st.run = run;
	check(store_step_add(s, &st) == 0 && store_flush_durable(s) == 0 && store_run_finish(s, run, "ok", NULL) == 0,
	      "store_step_add, store_flush_durable, store_run_finish", "%s", store_error(s));
	s->m->steps(s, &f, count_step, &c);
	check(c.n == 1, "a queued step is committed", "%lld steps", (long long)c.n);
}

/* The key for secret answers: 32 bytes, the same for everybody. */
static void check_key(Store *s, unsigned char first[32])
{
	unsigned char again[32], zero[32] = { 0 };
	check(store_secret_key(s, first, STORE_KEY_MAKE) == 0 && memcmp(first, zero, 32) != 0, "secret_key", "%s", store_error(s));
	check(store_secret_key(s, again, STORE_KEY_MAKE) == 0 && memcmp(first, again, 32) == 0, "secret_key: the same again", "%s",
	      store_error(s));
	memset(again, 0, sizeof again);
	check(store_secret_key(s, again, STORE_KEY_READ) == 1 && memcmp(first, again, 32) == 0, "secret_key: read", "%s",
	      store_error(s));
	check(store_secret_key(s, again, STORE_KEY_PUT) == 1, "secret_key: put the same one", "%s", store_error(s));
	again[0] ^= 1;
	check(store_secret_key(s, again, STORE_KEY_PUT) == 0, "secret_key: put another one is refused", "%s", store_error(s));
	check(store_secret_key(s, again, STORE_KEY_READ) == 1 && memcmp(first, again, 32) == 0,
	      "secret_key: unchanged by the refused one", "%s", store_error(s));
}

/* PostgreSQL's own: a lost connection, idempotent batches, messages without a password, stop. */
static void check_pg_only(Store *s)
{
	const StoreMethods *m = s->m;
	StoreRun r = { .pipeline = "lost", .args = "[]", .started_ms = T0 };
	StoreStep st = { .pipeline = "lost", .seq = 1, .name = "s", .occurrence = 1, .kind = "auto", .how = "run",
	                 .replayable = 1, .status = "ok", .candidate_agrees = -1, .started_ms = T0, .finished_ms = T0,
	                 .duration_ms = 0 };
	StoreStepFilter f = { .pipeline = "lost" };
	Count c = { 0, 0, 1 };
	Buf err = { 0 };
	volatile sig_atomic_t stop = 1;
	int64_t run = m->run_begin(s, &r);
	Store *other;

	st.run = run;
	check(m->backup == NULL, "[postgresql] no backup method (pg_dump)", "backup is set");
	check(m->write(s, &st, 1, NULL, 0, 0) == 0 && m->write(s, &st, 1, NULL, 0, 1) == 0,
	      "[postgresql] a batch written twice is written once", "%s", store_error(s));
	check(sql_on_target("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'understudy'"
	                    " AND datname = current_database()", NULL),
	      "[postgresql] end the store's connection from outside", "see above");
	st.seq = 2;
	check(m->write(s, &st, 1, NULL, 0, 1) == 0, "[postgresql] write after a lost connection connects again", "%s",
	      store_error(s));
	m->steps(s, &f, count_step, &c);
	check(c.n == 2, "[postgresql] steps after a lost connection", "%lld steps: %s", (long long)c.n, store_error(s));
	sql_on_target("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'understudy'"
	              " AND datname = current_database()", NULL);
	check(m->run_finish(s, run, "ok", NULL, T0 + 1) == 0, "[postgresql] run_finish after a lost connection", "%s",
	      store_error(s));
	sql_on_target("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'understudy'"
	              " AND datname = current_database()", NULL);
	check(m->run_begin(s, &r) > run, "[postgresql] run_begin after a lost connection", "%s", store_error(s));

	/* The watchdog's write gives up in time when the server does not answer (here: a row lock held elsewhere). */
	{
		const char *keys[] = { "dbname", "application_name", NULL };
		const char *values[] = { strcmp(target, "postgresql:") == 0 ? "" : target, "understudy-test", NULL };
		PGconn *holder = PQconnectdbParams(keys, values, 1);
		char sql[128];
		int64_t started, took;
		int rc;
		snprintf(sql, sizeof sql, "BEGIN; SELECT 1 FROM runs WHERE id = %lld FOR UPDATE", (long long)run);
		m->run_finish(s, run, "running", NULL, 0);
		PQclear(PQexec(holder, sql));
		started = clock_mono_ms();
		rc = m->write_aside(s, &st, 1, NULL, 0, run, "interrupted");
		took = clock_mono_ms() - started;
		/* A bound on behaviour (it gives up rather than hang), not on speed. It leaves the store's error alone. */
		check(rc == -1 && took < 15000, "[postgresql] write_aside gives up when the server does not answer",
		      "rc %d after %lld ms: %s", rc,
		      (long long)took, store_error(s));
		PQclear(PQexec(holder, "ROLLBACK"));
		PQfinish(holder);
	}

	other = store_open("postgresql://someone:hunter2@127.0.0.1:1/elsewhere", 1, NULL, &err);
	check(!other && strncmp(buf_str(&err), "postgresql://someone@127.0.0.1:1/elsewhere: cannot connect: ", 60) == 0 &&
	      !strstr(buf_str(&err), "hunter2"), "[postgresql] cannot connect: named without the password", "%s",
	      buf_str(&err));
	buf_reset(&err);
	other = store_open("postgresql://127.0.0.1:1/elsewhere?password=hunter2&user=me", 1, NULL, &err);
	check(!other && strstr(buf_str(&err), "cannot connect") && !strstr(buf_str(&err), "hunter2"),
	      "[postgresql] a password in the parameters is not shown either", "%s", buf_str(&err));
	buf_reset(&err);
	other = store_open("postgresql://u:hunter2@[::1:/x", 1, NULL, &err);
	check(!other && !strstr(buf_str(&err), "hunter2"), "[postgresql] a target libpq cannot read: no password shown",
	      "%s", buf_str(&err));
	buf_reset(&err);
	other = store_open("postgresql://u@192.0.2.1:5432/x?connect_timeout=30", 1, &stop, &err);
	check(!other && strstr(buf_str(&err), "cannot connect: stopped waiting"), "[postgresql] a stop ends the connecting",
	      "%s", buf_str(&err));
	buf_free(&err);
}

/* A database that is not ours, or from a newer understudy, is left untouched. */
static void check_refusals(void)
{
	Buf err = { 0 };
	Store *s;
	char want[512];

	check(sql_on_target(is_pg ? "UPDATE understudy_meta SET value = '99' WHERE key = 'schema_version'" : NULL,
	                    "PRAGMA user_version = 99"), "set a newer schema version by hand", "see above");
	s = open_store(1, &err);
	snprintf(want, sizeof want, "written by a newer understudy (schema 99; this one knows %d); left untouched",
	         STORE_SCHEMA_VERSION);
	check(!s && strstr(buf_str(&err), want), "a newer schema is refused", "%s", buf_str(&err));
	if (s)
		store_close(s);
	{
		char pg_sql[128], sq_sql[64];
		snprintf(pg_sql, sizeof pg_sql, "UPDATE understudy_meta SET value = '%d' WHERE key = 'schema_version'",
		         STORE_SCHEMA_VERSION);
		snprintf(sq_sql, sizeof sq_sql, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
		sql_on_target(pg_sql, sq_sql);
	}
	s = open_store(0, &err);
	check(s != NULL, "the version set back, it opens", "%s", buf_str(&err));
	if (s)
		store_close(s);

	/* Someone else's tables: rename ours away, make theirs. */
	check(sql_on_target("ALTER TABLE understudy_meta RENAME TO understudy_meta_moved",
	                    "PRAGMA application_id = 0; PRAGMA user_version = 0"), "make it someone else's", "see above");
	s = open_store(1, &err);
	check(!s && strstr(buf_str(&err), "not an understudy history (it holds other data); left untouched"),
	      "other data is refused", "%s", buf_str(&err));
	if (s)
		store_close(s);
	{
		char sq_sql[96];
		snprintf(sq_sql, sizeof sq_sql, "PRAGMA application_id = 1431529577; PRAGMA user_version = %d",
		         STORE_SCHEMA_VERSION);
		sql_on_target("ALTER TABLE understudy_meta_moved RENAME TO understudy_meta", sq_sql);
	}
	s = open_store(0, &err);
	check(s != NULL, "ours again, it opens", "%s", buf_str(&err));
	if (s)
		store_close(s);
	buf_free(&err);
}

/* The record's times, formatted by hand, against gmtime_r and strftime: a day in each of 600 years, and the edges. */
static void check_times(void)
{
	static const int64_t edges[] = {
		0, 999, 1000, -1, -1000, -86400000, 951782400000LL /* 2000-02-29 */, 4107542400000LL /* 2100-03-01 */,
		T0, 253402300799999LL /* 9999-12-31T23:59:59.999 */,
	};
	const int64_t days = 219150, nedges = sizeof edges / sizeof edges[0];
	char mine[32] = "", theirs[64] = "";
	int64_t ms = 0;
	for (int64_t i = -days / 3; i < days - days / 3 + nedges; i++) {
		int64_t sec;
		time_t t;
		struct tm tm;
		size_t n;
		/* every day from 1770 to 2370, at a time of day that moves through the day */
		ms = i < days - days / 3 ? i * 86400000 + (i * 7919 % 86400000 + 86400000) % 86400000 * 1000 / 997
		                        : edges[i - (days - days / 3)];
		sec = ms >= 0 ? ms / 1000 : -((999 - ms) / 1000);
		t = (time_t)sec;
		gmtime_r(&t, &tm);
		n = strftime(theirs, sizeof theirs, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(theirs + n, sizeof theirs - n, ".%03dZ", (int)(ms - sec * 1000));
		clock_iso(ms, mine);
		if (strcmp(mine, theirs) != 0)
			break;
	}
	check(strcmp(mine, theirs) == 0, "times formatted by hand as gmtime_r does", "%lld: %s, wanted %s",
	      (long long)ms, mine, theirs);
}

int main(int argc, char **argv)
{
	unsigned char key[32], again[32];
	Buf err = { 0 };
	Store *s;

	if (argc != 2) {
		fprintf(stderr, "usage: test_store PATH|postgresql://...  (a new, empty history)\n");
		return 2;
	}
	target = argv[1];
	is_pg = store_is_pg(target);
	setvbuf(stdout, NULL, _IOLBF, 0);
	check_times();

	s = open_store(0, &err);
	check(!s && strstr(buf_str(&err), "no history here yet"), "without create, nothing is made", "%s", buf_str(&err));
	if (s)
		store_close(s);
	s = open_store(1, &err);
	check(s != NULL, "open, creating", "%s", buf_str(&err));
	if (!s)
		return 1;
	check(strcmp(s->m->name, is_pg ? "postgresql" : "sqlite") == 0, "the backend chosen from the target", "%s",
	      s->m->name);
	check_rows(s);
	check_report(s);
	check_ids(s);
	check_many(s);
	check_failed_batch(s);
	check_bytes(s);
	check_aside(s);
	check_queue(s);
	check_key(s, key);
	if (is_pg)
		check_pg_only(s);
	store_close(s);

	s = open_store(0, &err);
	check(s != NULL, "open again", "%s", buf_str(&err));
	if (s) {
		check(store_secret_key(s, again, STORE_KEY_MAKE) == 0 && memcmp(key, again, 32) == 0, "secret_key: the same after reopening",
		      "%s", store_error(s));
		store_close(s);
	}
	check_refusals();
	buf_free(&err);
	return failures ? 1 : 0;
}
