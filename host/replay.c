/* replay.c: a resume replays the steps its run finished, and a dry run every step: values from the record. */
#include "replay.h"
#include "answer.h"
#include "codec.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The string field k of the table on top, or NULL. */
static const char *field_string(lua_State *L, const char *k)
{
	const char *v;
	lua_getfield(L, -1, k);
	v = lua_tostring(L, -1);
	lua_pop(L, 1);   /* the table still holds the string */
	return v;
}

static int field_boolean(lua_State *L, const char *k)
{
	int v;
	lua_getfield(L, -1, k);
	v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

static lua_Integer field_integer(lua_State *L, const char *k)
{
	lua_Integer v;
	lua_getfield(L, -1, k);
	v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

/*
 * Push the values a step returned, from the record: results (a JSON array)
 * when it returned other than one value, else output. null is nil. Returns
 * how many, or -1 with why in h->step.why.
 */
static int replay_values(lua_State *L, Host *h, const char *output, const char *results)
{
	int n;
	if (!results) {
		if (strcmp(output, "null") == 0) {
			lua_pushnil(L);
			return 1;
		}
		return codec_decode(L, output, strlen(output), &h->step.why) ? -1 : 1;
	}
	if (codec_decode(L, results, strlen(results), &h->step.why))
		return -1;
	n = (int)lua_rawlen(L, -1);
	luaL_checkstack(L, n, "too many values to replay");
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, -i, i);
		if (codec_isnull(L, -1)) {
			lua_pop(L, 1);
			lua_pushnil(L);
		}
	}
	lua_remove(L, -n - 1);
	return n;
}

/*
 * Does an --answer given to the resume replace the recorded answer (the
 * JSON output) of the manual step sp? It does when it is another answer
 * and the run answered that step once. The same answer replays (an
 * --answers file that answers every step redoes nothing); a step answered
 * several times (a loop) keeps its replays, and the --answer goes to the
 * occurrences that run live (resume --from answers them all anew).
 */
static int answered_anew(lua_State *L, Host *h, const Spec *sp, const char *output)
{
	int top = lua_gettop(L), times = 0, differs = 1;
	lua_getfield(L, LUA_REGISTRYINDEX, ANSWERS);
	if (lua_getfield(L, -1, sp->name) == LUA_TNIL) {
		lua_settop(L, top);
		return 0;
	}
	/* The flag's answer as the record would hold it; one that is wrong goes live, to be refused there. */
	if (lua_type(L, -1) == LUA_TSTRING) {
		size_t n;
		const char *text = lua_tolstring(L, -1, &n);
		if (answer_parse(L, h, sp, text, n, &h->step.reason) != 0)
			lua_pushnil(L);
	} else {
		lua_pushvalue(L, -1);
	}
	buf_reset(&h->step.why);
	if (!lua_isnil(L, -1) && !answer_failed(L, -1)) {
		Buf b = { 0 };
		if (codec_encode(L, -1, &b, &h->step.why) == 0)
			differs = strcmp(buf_str(&b), output) != 0;
		buf_free(&b);
	}
	lua_settop(L, top);
	if (!differs)
		return 0;
	lua_getfield(L, LUA_REGISTRYINDEX, REPLAY);
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
		times += strcmp(field_string(L, "name"), sp->name) == 0;
		lua_pop(L, 1);
	}
	lua_settop(L, top);
	return times == 1;
}

/*
 * When resuming, match this step with the next one the resumed run
 * finished. A match pushes the recorded values, records the replay and
 * returns how many; otherwise the step runs live, replay may stop here,
 * and -1 comes back.
 */
int replay_step(lua_State *L, Host *h, const Step *s, const Spec *sp)
{
	StoreStep row;
	const char *name, *output, *results;
	int top = lua_gettop(L), n;
	if (!h->replaying)
		return -1;
	lua_getfield(L, LUA_REGISTRYINDEX, REPLAY);
	if (lua_rawgeti(L, -1, h->replay_next) != LUA_TTABLE) {
		h->replaying = 0;   /* past the last step the run finished */
		lua_settop(L, top);
		return -1;
	}
	name = field_string(L, "name");
	if (strcmp(name, s->name) != 0 || field_integer(L, "occurrence") != s->occurrence) {
		fprintf(stderr, "understudy: warning: the script no longer matches run %lld at step %d"
		        " (it had \"%s\" #%d, now \"%s\" #%d): replay stops, the rest runs live\n",
		        (long long)h->resumed_from, h->replay_next, name, (int)field_integer(L, "occurrence"),
		        s->name, s->occurrence);
		h->replaying = 0;
		lua_settop(L, top);
		return -1;
	}
	if (strcmp(field_string(L, "status"), "ok") != 0) {
		h->replaying = 0;   /* the step that did not finish: live from here */
		lua_settop(L, top);
		return -1;
	}
	h->replay_next++;
	output = field_string(L, "output");
	results = field_string(L, "results");
	if (!output || !field_boolean(L, "replayable") || field_boolean(L, "secret")) {
		fprintf(stderr, "understudy: warning: step \"%s\" runs again: its value %s\n", s->name,
		        field_boolean(L, "secret") ? "is secret and was never stored" : "could not be recorded");
		lua_settop(L, top);
		return -1;
	}
	if (sp && answered_anew(L, h, sp, output)) {
		fprintf(stderr, "understudy: step \"%s\" is answered anew by --answer: replay stops here, the rest runs live\n",
		        s->name);
		h->replaying = 0;
		lua_settop(L, top);
		return -1;
	}
	step_row(h, s, &row);
	row.how = "replay";
	row.output = output;
	row.results = results;
	row.replay_of = field_integer(L, "replay_of");
	if (!row.replay_of)
		row.replay_of = field_integer(L, "id");
	row.instructions = s->kind[0] == 'm' ? host_hide_secrets(L, lua_tostring(L, 2)) : NULL;   /* the row is no longer on top */
	row.duration_ms = 0;
	if (store_step_add(h->store, &row))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	step_status(h, &row, output);
	if (s->kind[0] == 'm') {
		/* An --answer for it stays unused: the warning says how to answer it anew. */
		lua_getfield(L, LUA_REGISTRYINDEX, REPLAYED);
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, s->name);
		lua_pop(L, 1);
	}
	if ((n = replay_values(L, h, output, results)) < 0)
		host_fail(L, EXIT_HISTORY, "step \"%s\": the recorded value cannot be read: %s", s->name, buf_str(&h->step.why));
	lua_rotate(L, top + 1, n);   /* the values above the arguments, the record's tables after them */
	lua_settop(L, top + n);
	return n;
}

/* The latest value for the inputs, copied out of the store's row. */
typedef struct Latest {
	int found;
	Buf output, results, operator;
	char kind[8];
	int64_t started_ms;
} Latest;

static int latest_copy(void *ud, const StoreStep *r)
{
	Latest *l = ud;
	l->found = 1;
	buf_adds(&l->output, r->output);
	if (r->results)
		buf_adds(&l->results, r->results);
	if (r->operator && r->kind[0] == 'm')
		buf_adds(&l->operator, r->operator);
	snprintf(l->kind, sizeof l->kind, "%s", r->kind);
	l->started_ms = r->started_ms;
	return 1;
}

int replay_dry(lua_State *L, Host *h, const Step *s, const Spec *sp)
{
	Latest l = { 0 };
	StoreStep row;
	int top = lua_gettop(L), n = 1, manual = s->kind[0] == 'm';
	const char *inputs = h->step.inputs.len ? buf_str(&h->step.inputs) : NULL;
	const char *would = manual ? "would ask a person" : "would run its code";
	if (!h->opt->dry_run)
		return -1;
	if (h->store->m->latest(h->store, h->pipeline, s->name, inputs, latest_copy, &l) < 0)
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	step_row(h, s, &row);
	row.how = "dry";
	row.duration_ms = 0;
	row.instructions = manual ? host_hide_secrets(L, sp->instructions) : NULL;
	if (l.found) {
		char day[16] = "";
		time_t t = (time_t)(l.started_ms / 1000);
		struct tm tm;
		const char *whose = l.operator.len ? lua_pushfstring(L, "%s's last answer", buf_str(&l.operator))
		                    : manual ? "the last answer" : "the last value";
		if (localtime_r(&t, &tm))
			strftime(day, sizeof day, "%Y-%m-%d", &tm);
		if ((n = replay_values(L, h, buf_str(&l.output), l.results.len ? buf_str(&l.results) : NULL)) < 0)
			host_fail(L, EXIT_HISTORY, "step \"%s\": the recorded value cannot be read: %s", s->name,
			          buf_str(&h->step.why));
		row.output = buf_str(&l.output);
		row.results = l.results.len ? buf_str(&l.results) : NULL;
		fprintf(stderr, "[dry] %s %s: %s; %s for these inputs: %.200s (%s)\n", s->kind, s->name, would, whose,
		        row.output, day);
	} else if (sp && sp->def && !sp->secret) {
		lua_pushvalue(L, sp->def);
		buf_reset(&h->step.output);
		if (codec_encode(L, sp->def, &h->step.output, &h->step.why))
			host_fail(L, EXIT_USAGE, "step \"%s\": the default cannot be recorded: %s", s->name, buf_str(&h->step.why));
		row.output = buf_str(&h->step.output);
		fprintf(stderr, "[dry] %s %s: %s; nothing recorded for these inputs, so its default: %.200s\n", s->kind,
		        s->name, would, row.output);
	} else {
		const char *why = sp && sp->secret ? "a secret's answer is never recorded, and it has no default"
		                  : sp ? "nothing recorded for these inputs, and no default"
		                       : "nothing recorded for these inputs";
		buf_free(&l.output), buf_free(&l.results), buf_free(&l.operator);
		row.status = "failed";
		row.error = lua_pushfstring(L, "a dry run cannot go on: %s", why);
		if (store_step_add(h->store, &row))
			host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		fprintf(stderr, "[dry] %s %s: %s; %s\n", s->kind, s->name, would, why);
		lua_pushfstring(L, "step \"%s\": a dry run cannot go on: %s", s->name, why);
		return host_raise(L, EXIT_FAILED, lua_tostring(L, -1), "");
	}
	if (store_step_add(h->store, &row))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	buf_free(&l.output), buf_free(&l.results), buf_free(&l.operator);
	lua_rotate(L, top + 1, n);   /* the values above what the call pushed */
	lua_settop(L, top + n);
	return n;
}
