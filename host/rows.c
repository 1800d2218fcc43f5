/* rows.c: the history's rows as Lua tables: the one place a stored value becomes a Lua value. */
#include "rows.h"
#include "clock.h"
#include "remote.h"

#include <lauxlib.h>
#include <string.h>

/* t[k] = s, when s is not NULL, on the table on top. */
static void set_string(lua_State *L, const char *k, const char *s)
{
	if (!s)
		return;
	lua_pushstring(L, s);
	lua_setfield(L, -2, k);
}

static void set_integer(lua_State *L, const char *k, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* t[k] = v when v is not 0 (ids, times that may be absent). */
static void set_id(lua_State *L, const char *k, int64_t v)
{
	if (v)
		set_integer(L, k, v);
}

static void set_boolean(lua_State *L, const char *k, int v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

/* t[k] = the time as the record shows it, when there is one. */
static void set_time(lua_State *L, const char *k, int64_t ms)
{
	char when[32];
	if (!ms)
		return;
	clock_iso(ms, when);
	set_string(L, k, when);
}

/* Push a run as a table ([-0, +1]). */
static void push_run(lua_State *L, const StoreRun *r)
{
	lua_createtable(L, 0, 16);
	set_integer(L, "id", r->id);
	set_string(L, "pipeline", r->pipeline);
	set_string(L, "script", r->script);
	set_string(L, "script_hash", r->script_hash);
	set_string(L, "args", r->args);
	set_string(L, "operator", r->operator);
	set_string(L, "host", r->host);
	set_integer(L, "pid", r->pid);
	set_string(L, "cwd", r->cwd);
	set_string(L, "status", r->status);
	set_string(L, "error", r->error);
	set_id(L, "resumed_from", r->resumed_from);
	set_time(L, "started_at", r->started_ms);
	set_time(L, "finished_at", r->finished_ms);
	set_integer(L, "steps", r->steps);
	set_boolean(L, "dry", r->dry);
}

/* Push a step as a table ([-0, +1]). */
static void push_step(lua_State *L, const StoreStep *s)
{
	lua_createtable(L, 0, 24);
	set_id(L, "id", s->id);
	set_id(L, "run", s->run);
	set_string(L, "pipeline", s->pipeline);
	set_integer(L, "seq", s->seq);
	set_string(L, "name", s->name);
	set_integer(L, "occurrence", s->occurrence);
	set_string(L, "kind", s->kind);
	set_string(L, "how", s->how);
	set_string(L, "instructions", s->instructions);
	set_string(L, "inputs", s->inputs);
	set_string(L, "output", s->output);
	set_string(L, "results", s->results);
	set_boolean(L, "replayable", s->replayable);
	set_string(L, "status", s->status);
	set_string(L, "error", s->error);
	set_boolean(L, "secret", s->secret);
	set_string(L, "candidate_output", s->candidate_output);
	if (s->candidate_agrees >= 0)
		set_boolean(L, "candidate_agrees", s->candidate_agrees);
	set_id(L, "replay_of", s->replay_of);
	set_string(L, "operator", s->operator);
	set_time(L, "started_at", s->started_ms);
	set_time(L, "finished_at", s->finished_ms);
	if (s->duration_ms >= 0)
		set_integer(L, "duration_ms", s->duration_ms);
	set_string(L, "note", s->note);
	set_string(L, "run_status", s->run_status);
}

/* The list being filled: each callback appends its row to the table on top. */
typedef struct List {
	lua_State *L;
	lua_Integer n;
} List;

static int append_run(void *ud, const StoreRun *r)
{
	List *l = ud;
	push_run(l->L, r);
	lua_rawseti(l->L, -2, ++l->n);
	return 0;
}

static int append_step(void *ud, const StoreStep *s)
{
	List *l = ud;
	push_step(l->L, s);
	lua_rawseti(l->L, -2, ++l->n);
	return 0;
}

static int append_log(void *ud, const StoreLog *g)
{
	List *l = ud;
	lua_State *L = l->L;
	lua_createtable(L, 0, 4);
	set_integer(L, "seq", g->seq);
	set_string(L, "level", g->level);
	set_string(L, "message", g->message);
	set_time(L, "at", g->at_ms);
	lua_rawseti(L, -2, ++l->n);
	return 0;
}

/* Finish a list: on failure it goes, and -1 comes back. */
static int list_end(lua_State *L, int rc)
{
	if (rc != 0)
		lua_pop(L, 1);
	return rc ? -1 : 0;
}

int rows_push_runs(lua_State *L, Store *s, const char *pipeline)
{
	List l = { L, 0 };
	lua_newtable(L);
	return list_end(L, s->m->runs(s, pipeline, 0, append_run, &l));
}

int rows_push_run(lua_State *L, Store *s, int64_t id)
{
	StoreStepFilter f = { .run = id };
	List l = { L, 0 };
	lua_newtable(L);
	if (s->m->runs(s, NULL, id, append_run, &l)) {
		lua_pop(L, 1);
		return -1;
	}
	lua_rawgeti(L, -1, 1);
	lua_remove(L, -2);
	if (lua_isnil(L, -1))
		return 0;
	lua_newtable(L);
	l.n = 0;
	if (list_end(L, s->m->steps(s, &f, append_step, &l)))
		goto fail;
	lua_setfield(L, -2, "steps");
	lua_newtable(L);
	l.n = 0;
	if (list_end(L, s->m->logs(s, id, append_log, &l)))
		goto fail;
	lua_setfield(L, -2, "logs");
	return 0;
fail:
	lua_pop(L, 1);
	return -1;
}

/* Append a wait still waiting, with its runner alive, as a table. */
static int append_wait(void *ud, const StoreWait *w)
{
	List *l = ud;
	lua_State *L = l->L;
	if (!remote_alive(w, clock_wall_ms()))
		return 0;
	lua_createtable(L, 0, 16);
	set_integer(L, "id", w->id);
	set_integer(L, "run", w->run);
	set_string(L, "pipeline", w->pipeline);
	set_string(L, "step", w->step);
	set_integer(L, "occurrence", w->occurrence);
	set_string(L, "type", w->type);
	set_string(L, "instructions", w->instructions);
	set_string(L, "inputs", w->inputs);
	set_string(L, "choices", w->choices);
	set_string(L, "default", w->default_value);
	set_string(L, "candidate", w->candidate);
	set_boolean(L, "secret", w->secret);
	set_string(L, "operator", w->operator);
	set_string(L, "host", w->host);
	set_time(L, "since", w->since_ms);
	lua_rawseti(L, -2, ++l->n);
	return 0;
}

int rows_push_waiting(lua_State *L, Store *s, const char *pipeline, int64_t run)
{
	StoreWaitFilter f = { .run = run, .pipeline = pipeline, .open = 1 };
	List l = { L, 0 };
	lua_newtable(L);
	return list_end(L, s->m->waits(s, &f, append_wait, &l));
}

int rows_push_history(lua_State *L, Store *s, const char *pipeline, const char *step)
{
	return rows_push_steps(L, s, pipeline, step, NULL);
}

int rows_push_steps(lua_State *L, Store *s, const char *pipeline, const char *step, const char *kind)
{
	StoreStepFilter f = { .pipeline = pipeline, .name = step, .kind = kind };
	List l = { L, 0 };
	lua_newtable(L);
	return list_end(L, s->m->steps(s, &f, append_step, &l));
}

/* The report's lists, filled at once: one table each, at fixed stack slots. */
typedef struct Report {
	lua_State *L;
	Store *s;
	int steps, conflicts, checks, disagreements, answers;   /* stack indexes */
} Report;

/* Append the table on top to the list at idx. */
static int append(lua_State *L, int idx)
{
	lua_rawseti(L, idx, (lua_Integer)lua_rawlen(L, idx) + 1);
	return 0;
}

static int report_stats(void *ud, const StoreStepStats *t)
{
	Report *r = ud;
	lua_State *L = r->L;
	lua_createtable(L, 0, 20);
	set_string(L, "pipeline", t->pipeline);
	set_string(L, "step", t->step);
	set_integer(L, "executions", t->executions);
	set_integer(L, "manual_executions", t->manual_executions);
	set_integer(L, "auto_executions", t->auto_executions);
	set_integer(L, "manual_answers", t->manual_answers);
	set_integer(L, "distinct_outputs", t->distinct_outputs);
	set_integer(L, "input_groups", t->input_groups);
	set_integer(L, "human_ms", t->human_ms);
	if (t->median_human_ms >= 0)
		set_integer(L, "median_human_ms", t->median_human_ms);
	set_boolean(L, "secret", t->secret);
	set_integer(L, "distinct_secrets", t->distinct_secrets);
	set_integer(L, "candidate_runs", t->candidate_runs);
	set_integer(L, "candidate_agreed", t->candidate_agreed);
	set_string(L, "last_kind", t->last_kind);
	set_string(L, "last_how", t->last_how);
	set_integer(L, "advance_answers", t->advance_answers);
	set_string(L, "last_answer", t->last_answer);
	set_string(L, "last_operator", t->last_operator);
	set_string(L, "last_inputs", t->last_inputs);
	set_string(L, "candidate_source", t->candidate_source);
	return append(L, r->steps);
}

/* An answer row: {pipeline, step, inputs, output, n[, operator, last]} ([-0, +1]). */
static void push_answer(lua_State *L, const StoreAnswer *a)
{
	lua_createtable(L, 0, 7);
	set_string(L, "pipeline", a->pipeline);
	set_string(L, "step", a->step);
	set_string(L, "inputs", a->inputs);
	set_string(L, "output", a->output);
	set_integer(L, "n", a->n);
	set_string(L, "operator", a->operator);
	if (a->last)
		set_integer(L, "last", a->last);
}

static int report_conflict(void *ud, const StoreAnswer *a)
{
	Report *r = ud;
	push_answer(r->L, a);
	return append(r->L, r->conflicts);
}

static int report_answer(void *ud, const StoreAnswer *a)
{
	Report *r = ud;
	push_answer(r->L, a);
	return append(r->L, r->answers);
}

static int report_check(void *ud, const StoreCheck *c)
{
	Report *r = ud;
	lua_State *L = r->L;
	lua_createtable(L, 0, 6);
	set_string(L, "pipeline", c->pipeline);
	set_string(L, "step", c->step);
	set_string(L, "inputs", c->inputs);
	set_string(L, "auto_output", c->auto_output);
	set_string(L, "manual_output", c->manual_output);
	set_boolean(L, "agrees", c->agrees);
	return append(L, r->checks);
}

static int report_disagreement(void *ud, const StoreStep *d)
{
	Report *r = ud;
	lua_State *L = r->L;
	lua_createtable(L, 0, 6);
	set_string(L, "pipeline", d->pipeline);
	set_string(L, "step", d->name);
	set_string(L, "inputs", d->inputs);
	set_string(L, "output", d->output);
	set_string(L, "candidate_output", d->candidate_output);
	set_string(L, "error", d->error);
	return append(L, r->disagreements);
}

/* Give each step with a candidate its streak: the same rule as trust's. */
static int report_streaks(lua_State *L, Store *s, int steps)
{
	for (lua_Integer i = 1; lua_rawgeti(L, steps, i) == LUA_TTABLE; i++) {
		lua_Integer runs, streak = 0;
		lua_getfield(L, -1, "candidate_runs");
		runs = lua_tointeger(L, -1);
		lua_pop(L, 1);
		if (runs > 0) {
			lua_getfield(L, -1, "pipeline");
			lua_getfield(L, -2, "step");
			streak = store_candidate_streak(s, lua_tostring(L, -2), lua_tostring(L, -1),
			                                runs > 1000000 ? 1000000 : (int)runs);
			lua_pop(L, 2);
			if (streak < 0) {
				lua_pop(L, 1);
				return -1;
			}
		}
		set_integer(L, "streak", streak);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

/*
 * A step's latest executions, newest first: those since the oldest the
 * code answered, and the code's; of audits, those that disagreed.
 */
typedef struct Recent {
	int64_t seen, auto_n, n, disagreed;
	Buf inputs, code, answer;   /* the latest disagreement */
} Recent;

static int recent_count(void *ud, const StoreStep *row)
{
	Recent *c = ud;
	c->seen++;
	if (row->kind[0] == 'a') {
		c->auto_n++;
		c->n = c->seen;   /* people's answers before the code's first are not a fallback */
	}
	if (row->candidate_agrees == 0 && c->disagreed++ == 0) {
		buf_adds(&c->inputs, row->inputs ? row->inputs : "null");
		buf_adds(&c->code, row->candidate_output ? row->candidate_output : "null");
		buf_adds(&c->answer, row->output ? row->output : "null");
	}
	return 0;
}

/*
 * A step people and code both answered: of its latest RECENT_EXECUTIONS,
 * those since the code first answered (recent_n), and the code's
 * (recent_auto); when they differ, people answer what the code leaves.
 * A step the code answers: its latest RECENT_AUDITS audits (audits), and
 * how many disagreed with the code (audits_disagreed).
 */
#define RECENT_EXECUTIONS 30
#define RECENT_AUDITS 20
static int report_recent(lua_State *L, Store *s, int steps, const char *since)
{
	for (lua_Integer i = 1; lua_rawgeti(L, steps, i) == LUA_TTABLE; i++) {
		Recent c = { 0 }, a = { 0 };
		int rc = 0;
		lua_getfield(L, -1, "manual_executions");
		lua_getfield(L, -2, "auto_executions");
		lua_getfield(L, -3, "pipeline");
		lua_getfield(L, -4, "step");
		int64_t manual_all = lua_tointeger(L, -4), auto_all = lua_tointeger(L, -3);
		const char *pipeline = lua_tostring(L, -2), *step = lua_tostring(L, -1);
		if (manual_all > 0 && auto_all > 0)
			rc = s->m->recent(s, pipeline, step, 0, since, RECENT_EXECUTIONS, recent_count, &c);
		if (rc == 0 && auto_all > 0)
			rc = s->m->recent(s, pipeline, step, 1, since, RECENT_AUDITS, recent_count, &a);
		lua_pop(L, 4);
		if (rc < 0) {
			buf_free(&a.inputs), buf_free(&a.code), buf_free(&a.answer);
			lua_pop(L, 1);
			return -1;
		}
		if (manual_all > 0 && auto_all > 0) {
			set_integer(L, "recent_auto", c.auto_n);
			set_integer(L, "recent_n", c.auto_n < auto_all ? c.seen : c.n);   /* the code answered before them all */
		}
		if (a.seen > 0) {
			set_integer(L, "audits", a.seen);
			set_integer(L, "audits_disagreed", a.disagreed);
		}
		if (a.disagreed > 0) {
			set_string(L, "audit_inputs", buf_str(&a.inputs));
			set_string(L, "audit_code", buf_str(&a.code));
			set_string(L, "audit_answer", buf_str(&a.answer));
		}
		buf_free(&a.inputs), buf_free(&a.code), buf_free(&a.answer);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

int rows_push_report(lua_State *L, Store *s, const char *pipeline, const char *since)
{
	int top = lua_gettop(L);
	Report r = { L, s, top + 2, top + 3, top + 4, top + 5, top + 6 };
	StoreReport fns = { report_stats, report_conflict, report_check, report_disagreement, report_answer,
	                    since && *since ? since : NULL, &r };
	lua_createtable(L, 0, 6);
	for (int i = 0; i < 5; i++)
		lua_newtable(L);
	if (s->m->report(s, pipeline, &fns) != 0 || report_streaks(L, s, r.steps) ||
	    report_recent(L, s, r.steps, fns.since)) {
		lua_settop(L, top);
		return -1;
	}
	lua_setfield(L, top + 1, "answers");
	lua_setfield(L, top + 1, "disagreements");
	lua_setfield(L, top + 1, "checks");
	lua_setfield(L, top + 1, "conflicts");
	lua_setfield(L, top + 1, "steps");
	return 0;
}

static int append_answer(void *ud, const StoreAnswer *a)
{
	List *l = ud;
	lua_State *L = l->L;
	lua_createtable(L, 0, 3);
	set_string(L, "inputs", a->inputs);
	set_string(L, "output", a->output);
	set_integer(L, "n", a->n);
	lua_rawseti(L, -2, ++l->n);
	return 0;
}

int rows_push_answers(lua_State *L, Store *s, const char *pipeline, const char *step)
{
	List l = { L, 0 };
	lua_newtable(L);
	return list_end(L, s->m->answers(s, pipeline, step, append_answer, &l));
}

/* Each step handed to a Lua function; an error it raises waits in the registry until the query is over. */
typedef struct Each {
	lua_State *L;
	int fn;
	int failed;
} Each;

static int each_step(void *ud, const StoreStep *s)
{
	Each *e = ud;
	lua_State *L = e->L;
	lua_pushvalue(L, e->fn);
	push_step(L, s);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		e->failed = 1;
		return 1;   /* the error stays on the stack */
	}
	return 0;
}

int rows_each_step(lua_State *L, Store *s, const char *pipeline)
{
	StoreStepFilter f = { .pipeline = pipeline, .by_id = 1 };
	Each e = { L, lua_gettop(L), 0 };
	int rc = s->m->steps(s, &f, each_step, &e);
	if (e.failed) {
		lua_remove(L, e.fn);
		return lua_error(L);
	}
	lua_remove(L, e.fn);
	return rc ? -1 : 0;
}
