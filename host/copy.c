/* copy.c: a whole history from one store to another (SQLite <-> PostgreSQL), ids and links kept. */
#include "copy.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRESS_ROWS 100000   /* a progress line after this many steps */

/* The runs of the source, oldest first, with their strings owned. */
typedef struct Runs {
	StoreRun *run;
	size_t n, cap;
} Runs;

/* What the copy carries from rows to rows. */
typedef struct Copy {
	Store *to;
	int64_t offset[3];        /* added to run, step and log ids: 0 unless --append */
	int64_t last_run;         /* the source's newest run copied, */
	int64_t last[3];          /* and its largest ids then: later rows came after the copy began */
	Runs runs;
	int64_t steps, logs;
} Copy;

static char *dup_or_null(const char *s)
{
	char *d;
	if (!s)
		return NULL;
	if (!(d = strdup(s))) {
		fputs("understudy: out of memory\n", stderr);
		abort();
	}
	return d;
}

/* Keep a run of the source; they come newest first. */
static int keep_run(void *ud, const StoreRun *r)
{
	Runs *rs = ud;
	StoreRun *k;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 256;
		StoreRun *p = realloc(rs->run, cap * sizeof *p);
		if (!p)
			return -1;
		rs->run = p;
		rs->cap = cap;
	}
	k = &rs->run[rs->n++];
	*k = *r;
	k->pipeline = dup_or_null(r->pipeline);
	k->script = dup_or_null(r->script);
	k->script_hash = dup_or_null(r->script_hash);
	k->args = dup_or_null(r->args);
	k->operator = dup_or_null(r->operator);
	k->host = dup_or_null(r->host);
	k->cwd = dup_or_null(r->cwd);
	k->status = dup_or_null(r->status);
	k->error = dup_or_null(r->error);
	return 0;
}

static void runs_free(Runs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		StoreRun *k = &rs->run[i];
		char *strings[] = { (char *)k->pipeline, (char *)k->script, (char *)k->script_hash, (char *)k->args,
		                    (char *)k->operator, (char *)k->host, (char *)k->cwd, (char *)k->status, (char *)k->error };
		for (size_t j = 0; j < sizeof strings / sizeof strings[0]; j++)
			free(strings[j]);
	}
	free(rs->run);
}

/* An id moved by the offset; 0 (none) stays 0. */
static int64_t moved(int64_t id, int64_t offset)
{
	return id ? id + offset : 0;
}

static int put_step(void *ud, const StoreStep *s)
{
	Copy *c = ud;
	StoreStep row = *s;
	if (s->run > c->last_run || s->id > c->last[1])
		return 0;
	row.id = moved(s->id, c->offset[1]);
	row.run = moved(s->run, c->offset[0]);
	row.replay_of = moved(s->replay_of, c->offset[1]);
	if (store_step_add(c->to, &row))
		return -1;
	if (++c->steps % PROGRESS_ROWS == 0)
		fprintf(stderr, "copy: %lld steps...\n", (long long)c->steps);
	return 0;
}

static int put_log(void *ud, const StoreLog *l)
{
	Copy *c = ud;
	StoreLog row = *l;
	if (l->run > c->last_run || l->id > c->last[2])
		return 0;
	row.id = moved(l->id, c->offset[2]);
	row.run = moved(l->run, c->offset[0]);
	c->logs++;
	return store_log_add(c->to, &row) ? -1 : 0;
}

/* Open one side of the copy, or fail with code 3. */
static Store *copy_open(lua_State *L, const char *target, int create)
{
	Buf err = { 0 };
	Store *s = store_open(target, create, &host_interrupted, &err);
	if (!s) {
		lua_pushstring(L, buf_str(&err));
		buf_free(&err);
		host_fail(L, EXIT_HISTORY, "copy: %s", lua_tostring(L, -1));
	}
	buf_free(&err);
	return s;
}

/* The secret answers' key goes along, so their hashes still compare. 0, or the store that failed. */
static Store *copy_key(Store *from, Store *to)
{
	unsigned char key[32];
	int rc = store_secret_key(from, key, STORE_KEY_READ);
	if (rc < 0)
		return from;
	if (rc == 0)
		return NULL;
	if ((rc = store_secret_key(to, key, STORE_KEY_PUT)) < 0)
		return to;
	if (rc == 0)
		fprintf(stderr, "understudy: warning: %s has a key for secret answers of its own: the copied"
		        " secret answers' hashes do not compare with its own\n", store_where(to));
	return NULL;
}

int copy_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	Copy c = { 0 };
	Store *from, *to;
	int empty;

	if (!opt->from || !opt->to)
		return host_fail(L, EXIT_USAGE, "copy: both --from DB and --to DB are needed");
	if (strcmp(opt->from, opt->to) == 0) {
		Buf name = { 0 };
		store_name(opt->from, &name);
		lua_pushstring(L, buf_str(&name));
		buf_free(&name);
		return host_fail(L, EXIT_USAGE, "copy: --from and --to are the same history (%s)", lua_tostring(L, -1));
	}
	from = copy_open(L, opt->from, 0);
	h->store = from;   /* closed with the Host, whatever happens */
	to = copy_open(L, opt->to, 1);
	c.to = to;
	if ((empty = to->m->empty(to)) < 0) {
		lua_pushfstring(L, "copy: %s", store_error(to));
		store_close(to);
		return host_fail(L, EXIT_HISTORY, "%s", lua_tostring(L, -1));
	}
	if (!empty && !opt->append) {
		lua_pushfstring(L, "copy: %s already holds runs; add --append to add these after them", store_where(to));
		store_close(to);
		return host_fail(L, EXIT_USAGE, "%s", lua_tostring(L, -1));
	}
	int64_t upto[3];
	Store *failed;
	if (!empty && to->m->ids_max(to, c.offset))
		goto fail_to;
	if ((failed = copy_key(from, to)))
		goto fail_store;
	/* What is copied: the runs there now, and the rows up to the largest ids there then. */
	if (from->m->runs(from, NULL, 0, keep_run, &c.runs)) {
		if (!from->err.len)
			store_fail(from, "out of memory");
		goto fail_from;
	}
	c.last_run = c.runs.n ? c.runs.run[0].id : 0;   /* newest first */
	if (from->m->ids_max(from, c.last))
		goto fail_from;
	/* The ids the copy takes are set aside first: runners meanwhile get others, whatever happens. */
	for (int i = 0; i < 3; i++)
		upto[i] = c.last[i] + c.offset[i];
	if (to->m->ids_sync(to, upto))
		goto fail_to;
	for (size_t i = c.runs.n; i-- > 0;) {
		StoreRun r = c.runs.run[i];
		r.id = moved(r.id, c.offset[0]);
		r.resumed_from = moved(r.resumed_from, c.offset[0]);
		if (!store_run_begin(to, &r))
			goto fail_to;
	}
	StoreStepFilter all = { .by_id = 1 };
	int rc = from->m->steps(from, &all, put_step, &c);
	if (rc != 0 && to->lost)
		goto fail_to;
	if (rc != 0)
		goto fail_from;
	if ((rc = from->m->logs(from, 0, put_log, &c)) != 0) {
		if (to->lost)
			goto fail_to;
		goto fail_from;
	}
	if (store_flush(to) || to->m->ids_sync(to, NULL))
		goto fail_to;
	fprintf(stderr, "copy: %zu run%s, %lld step%s, %lld log line%s from %s to %s\n", c.runs.n, c.runs.n == 1 ? "" : "s",
	        (long long)c.steps, c.steps == 1 ? "" : "s", (long long)c.logs, c.logs == 1 ? "" : "s",
	        store_where(from), store_where(to));
	runs_free(&c.runs);
	store_close(to);
	return EXIT_OK;
fail_store:
	if (failed == to)
		goto fail_to;
fail_from:
	lua_pushfstring(L, "copy: %s", store_error(from));
	goto fail;
fail_to:
	lua_pushfstring(L, "copy: %s; what was copied so far stays in it", store_error(to));
fail:
	runs_free(&c.runs);
	store_close(to);
	return host_fail(L, EXIT_HISTORY, "%s", lua_tostring(L, -1));
}
