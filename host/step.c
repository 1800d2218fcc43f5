/* step.c: manual() asks a person, auto() runs code; both record what happened. */
#include "host.h"
#include "codec.h"
#include "rows.h"
#include "sha256.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OCCURRENCES "understudy.occurrences"
#define ANSWERS "understudy.answers"
#define ANSWERS_USED "understudy.answers_used"
#define REPLAY "understudy.replay"
#define SUMMARY_MAX 60
#define WRONG_ANSWERS_MAX 3   /* in a row, without a terminal */
#define STEP_NAME_MAX 200     /* bytes */

enum { T_DONE, T_STRING, T_NUMBER, T_BOOLEAN, T_CHOICE, T_JSON };
static const char *const type_names[] = { "done", "string", "number", "boolean", "choice", "json", NULL };

/* manual()'s options, in the order of their stack slots. */
static const char *const manual_options[] = {
	"type", "default", "choices", "validate", "secret", "inputs",
	"candidate", "show", "compare", "trust", "timeout", "notify", NULL,
};
enum { O_TYPE, O_DEFAULT, O_CHOICES, O_VALIDATE, O_SECRET, O_INPUTS,
       O_CANDIDATE, O_SHOW, O_COMPARE, O_TRUST, O_TIMEOUT, O_NOTIFY };

/* A manual step's options, as absolute stack indices (0: absent). */
typedef struct Spec {
	const char *name;
	int type;
	int def, choices, validate, inputs, candidate, compare;
	int nchoices;
	int secret, show;
	int trust;                 /* 0: never answers alone */
	int timeout_ms;            /* 0: wait for ever */
	const char *notify;        /* URL, or NULL */
} Spec;

/* What both kinds of step share while they run. */
typedef struct Step {
	const char *name;
	const char *kind;
	int occurrence;
	int64_t started_wall, started_mono;
	unsigned outside;          /* h->outside when it began: it reached the outside world if that changed */
} Step;

/* Raise a misuse error naming the step and where the script called it. */
static int step_error(lua_State *L, const char *name, const char *fmt, ...)
{
	va_list ap;
	luaL_where(L, 1);
	lua_pushfstring(L, "step \"%s\": ", name);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 3);
	return lua_error(L);
}

/* Raise when the options table at idx has a key not in known. */
static void opts_check(lua_State *L, int idx, const char *name, const char *const known[])
{
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
		int i;
		for (i = 0; known[i] && strcmp(known[i], k) != 0; i++)
			;
		if (!known[i])
			step_error(L, name, "unknown option '%s'", k);
		lua_pop(L, 1);
	}
}

/*
 * The step's name, argument 1: text that status lines, tables and the
 * record can hold, or raise naming where the script called the step.
 */
static const char *step_name(lua_State *L)
{
	size_t n, i = 0;
	luaL_Buffer shown;
	const char *name = luaL_checklstring(L, 1, &n);
	const char *why = n == 0 ? "is empty" : n > STEP_NAME_MAX ? "is longer than " STR(STEP_NAME_MAX) " bytes"
	                : strspn(name, " ") == n ? "is blank" : NULL;
	while (!why && i < n) {
		const unsigned char *u = (const unsigned char *)name + i;
		size_t k = codec_utf8_len(u, n - i);
		unsigned cp = k == 1 ? u[0] : k == 2 ? (u[0] & 0x1Fu) << 6 | (u[1] & 0x3F)
		            : k == 3 ? (u[0] & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3F) : 0x10000;
		if (u[0] == 0)
			why = "holds a NUL byte";
		else if (k == 0)
			why = "is not valid UTF-8";
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			why = "holds a control character (a newline, a tab...)";
		else if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) ||
		         cp == 0xfeff)
			why = "holds an invisible or direction-changing character";
		else if (cp == '=')
			why = "holds '=' (--answer STEP=VALUE could not name it)";
		i += k ? k : 1;
	}
	if (!why)
		return name;
	luaL_where(L, 1);
	luaL_buffinit(L, &shown);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		char esc[8];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			luaL_addchar(&shown, (char)c);
		} else {
			snprintf(esc, sizeof esc, "\\x%02X", (unsigned)c);   /* the bytes it has */
			luaL_addstring(&shown, esc);
		}
	}
	luaL_pushresult(&shown);
	lua_pushfstring(L, "step name \"%s\" %s", lua_tostring(L, -1), why);
	lua_remove(L, -2);
	lua_concat(L, 2);
	lua_error(L);
	return NULL;
}

/*
 * Encode the value at idx for the record, with the run's secrets hidden;
 * 0, or -1 with why. o, when not NULL, says how and tells back.
 */
static int step_encode(lua_State *L, Host *h, int idx, Buf *out, CodecOptions *o)
{
	CodecOptions mine = { 0 };
	if (!o)
		o = &mine;
	o->secrets = &h->secrets;
	return codec_encode_as(L, idx, out, &h->why, o);
}

/*
 * Remember the value at idx as a secret of step name: a string, a number,
 * and those inside a table (an encodable one: no cycles).
 */
static void secrets_remember(lua_State *L, Host *h, const char *name, int idx)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		size_t n;
		const char *text = lua_tolstring(L, idx, &n);
		secrets_add(&h->secrets, name, text, n);
		break;
	}
	case LUA_TNUMBER: {
		Buf b = { 0 }, why = { 0 };
		if (codec_encode(L, idx, &b, &why) == 0)
			secrets_add(&h->secrets, name, b.data, b.len);
		buf_free(&b);
		buf_free(&why);
		break;
	}
	case LUA_TTABLE:
		luaL_checkstack(L, 3, "secret answer nested too deep");
		lua_pushnil(L);
		while (lua_next(L, idx)) {
			secrets_remember(L, h, name, -1);
			lua_pop(L, 1);
		}
		break;
	}
}

/* Start a step: next occurrence of its name, clocks, inputs encoded. */
static void step_begin(lua_State *L, Host *h, Step *s, int inputs)
{
	if (host_interrupted)
		host_raise_interrupt(L, "interrupted before step \"%s\"", s->name);
	lua_getfield(L, LUA_REGISTRYINDEX, OCCURRENCES);
	lua_getfield(L, -1, s->name);
	s->occurrence = (int)lua_tointeger(L, -1) + 1;
	lua_pop(L, 1);
	lua_pushinteger(L, s->occurrence);
	lua_setfield(L, -2, s->name);
	lua_pop(L, 1);
	buf_reset(&h->inputs);
	if (inputs && !lua_isnil(L, inputs) && step_encode(L, h, inputs, &h->inputs, NULL))
		step_error(L, s->name, "inputs cannot be recorded as JSON: %s", buf_str(&h->why));
	s->started_wall = clock_wall_ms();
	s->started_mono = clock_mono_ms();
	s->outside = h->outside;
}

/* Fill a row with what every step records. */
static void step_row(Host *h, const Step *s, StoreStep *row)
{
	memset(row, 0, sizeof *row);
	row->run = h->run;
	row->pipeline = h->pipeline;
	row->seq = ++h->seq;
	row->name = s->name;
	row->occurrence = s->occurrence;
	row->kind = s->kind;
	row->inputs = h->inputs.len ? buf_str(&h->inputs) : NULL;
	row->replayable = 1;
	row->status = "ok";
	row->candidate_agrees = -1;
	row->operator = h->operator;
	row->started_ms = s->started_wall;
	row->finished_ms = clock_wall_ms();
	row->duration_ms = clock_mono_ms() - s->started_mono;
}

/* Print the step's status line on stderr. */
static void step_status(Host *h, const StoreStep *row, const char *value)
{
	const char *v = value ? value : "";
	int n = (int)strlen(v);
	char when[32];
	if (row->kind[0] == 'm' && strcmp(row->how, "replay") != 0) {
		h->manual_steps++;
		h->human_ms += row->duration_ms;
	}
	if (row->duration_ms < 1000)
		snprintf(when, sizeof when, "%lld ms", (long long)row->duration_ms);
	else
		snprintf(when, sizeof when, "%.1f s", (double)row->duration_ms / 1000.0);
	fprintf(stderr, "[%s%s%s] %s %s", host_colour(h, row->status), row->status, host_colour(h, NULL),
	        row->kind, row->name);
	if (row->occurrence > 1)
		fprintf(stderr, " #%d", row->occurrence);
	if (value)
		fprintf(stderr, " = %.*s%s", n > SUMMARY_MAX ? SUMMARY_MAX : n, v, n > SUMMARY_MAX ? "..." : "");
	fprintf(stderr, " (%s, %s)\n", row->how, when);
}

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
 * how many, or -1 with why in h->why.
 */
static int replay_values(lua_State *L, Host *h, const char *output, const char *results)
{
	int n;
	if (!results) {
		if (strcmp(output, "null") == 0) {
			lua_pushnil(L);
			return 1;
		}
		return codec_decode(L, output, strlen(output), &h->why) ? -1 : 1;
	}
	if (codec_decode(L, results, strlen(results), &h->why))
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
 * When resuming, match this step with the next one the resumed run
 * finished. A match pushes the recorded values, records the replay and
 * returns how many; otherwise the step runs live, replay may stop here,
 * and -1 comes back.
 */
static int replay_step(lua_State *L, Host *h, const Step *s)
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
	if ((n = replay_values(L, h, output, results)) < 0)
		host_fail(L, EXIT_HISTORY, "step \"%s\": the recorded value cannot be read: %s", s->name, buf_str(&h->why));
	lua_rotate(L, top + 1, n);   /* the values above the arguments, the record's tables after them */
	lua_settop(L, top + n);
	return n;
}

/* Read the options of manual() into sp; values pushed at known slots. */
static void spec_read(lua_State *L, Spec *sp)
{
	int opts = 3, base;
	memset(sp, 0, sizeof *sp);
	sp->name = step_name(L);
	luaL_checkstring(L, 2);
	opts_check(L, opts, sp->name, manual_options);
	lua_settop(L, opts);
	base = opts + 1;
	for (int i = 0; manual_options[i]; i++) {
		if (lua_istable(L, opts))
			lua_getfield(L, opts, manual_options[i]);
		else
			lua_pushnil(L);
	}
#define SLOT(o) (lua_isnil(L, base + (o)) ? 0 : base + (o))
	sp->def = SLOT(O_DEFAULT);
	sp->choices = SLOT(O_CHOICES);
	sp->validate = SLOT(O_VALIDATE);
	sp->secret = lua_toboolean(L, base + O_SECRET);
	sp->inputs = SLOT(O_INPUTS);
	sp->candidate = SLOT(O_CANDIDATE);
	sp->show = lua_toboolean(L, base + O_SHOW);
	sp->compare = SLOT(O_COMPARE);
#undef SLOT

	if (sp->choices) {
		if (!lua_istable(L, sp->choices))
			step_error(L, sp->name, "choices must be a list of strings, not a %s", luaL_typename(L, sp->choices));
		sp->nchoices = (int)lua_rawlen(L, sp->choices);
		if (sp->nchoices == 0)
			step_error(L, sp->name, "choices is empty");
		for (int i = 1; i <= sp->nchoices; i++) {
			if (lua_rawgeti(L, sp->choices, i) != LUA_TSTRING)
				step_error(L, sp->name, "choices must be a list of strings, not %s", luaL_typename(L, -1));
			lua_pop(L, 1);
		}
	}
	if (sp->validate && !lua_isfunction(L, sp->validate))
		step_error(L, sp->name, "validate must be a function, not a %s", luaL_typename(L, sp->validate));
	if (sp->candidate && !lua_isfunction(L, sp->candidate))
		step_error(L, sp->name, "candidate must be a function, not a %s", luaL_typename(L, sp->candidate));
	if (sp->compare && !lua_isfunction(L, sp->compare))
		step_error(L, sp->name, "compare must be a function, not a %s", luaL_typename(L, sp->compare));
	if (!lua_isnil(L, base + O_TRUST)) {
		if (!lua_isinteger(L, base + O_TRUST) || lua_tointeger(L, base + O_TRUST) < 1 ||
		    lua_tointeger(L, base + O_TRUST) > 1000000)
			step_error(L, sp->name, "trust must be a whole number of agreements from 1");
		if (!sp->candidate)
			step_error(L, sp->name, "trust needs a candidate");
		sp->trust = (int)lua_tointeger(L, base + O_TRUST);
	}
	if (!lua_isnil(L, base + O_TIMEOUT)) {
		lua_Number t = lua_tonumber(L, base + O_TIMEOUT);
		if (lua_type(L, base + O_TIMEOUT) != LUA_TNUMBER || !(t > 0 && t <= 2073600))
			step_error(L, sp->name, "timeout must be above 0 and at most 2073600 s (24 days)");
		if (!sp->def)
			step_error(L, sp->name, "timeout needs a default, taken when nobody answers in time");
		sp->timeout_ms = (int)(t * 1000 + 0.5);
		if (sp->timeout_ms < 1)
			sp->timeout_ms = 1;
	}
	if (!lua_isnil(L, base + O_NOTIFY)) {
		if (lua_type(L, base + O_NOTIFY) != LUA_TSTRING)
			step_error(L, sp->name, "notify must be a URL");
		sp->notify = lua_tostring(L, base + O_NOTIFY);
	}

	if (!lua_isnil(L, base + O_TYPE)) {
		const char *t = lua_tostring(L, base + O_TYPE);
		int i;
		for (i = 0; t && type_names[i] && strcmp(type_names[i], t) != 0; i++)
			;
		if (!t || !type_names[i])
			step_error(L, sp->name, "unknown type '%s' (done, string, number, boolean, choice or json)",
			           t ? t : luaL_typename(L, base + O_TYPE));
		sp->type = i;
	} else if (sp->choices) {
		sp->type = T_CHOICE;
	} else if (sp->secret && !sp->def) {
		sp->type = T_STRING;
	} else if (sp->def) {
		switch (lua_type(L, sp->def)) {
		case LUA_TNUMBER: sp->type = T_NUMBER; break;
		case LUA_TBOOLEAN: sp->type = T_BOOLEAN; break;
		case LUA_TSTRING: sp->type = T_STRING; break;
		default: sp->type = T_JSON;
		}
	} else {
		sp->type = T_DONE;
	}
	if (sp->type == T_CHOICE && !sp->choices)
		step_error(L, sp->name, "type choice needs choices");
}

/* Is the value at idx a valid answer of the spec's type? 0 or -1 with reason. */
static int answer_check(lua_State *L, const Spec *sp, int idx, Buf *reason)
{
	int ok = 1;
	buf_reset(reason);
	switch (sp->type) {
	case T_STRING: ok = lua_type(L, idx) == LUA_TSTRING; break;
	case T_NUMBER: ok = lua_type(L, idx) == LUA_TNUMBER; break;
	case T_BOOLEAN: ok = lua_type(L, idx) == LUA_TBOOLEAN; break;
	case T_CHOICE:
		ok = 0;
		for (int i = 1; i <= sp->nchoices && !ok; i++) {
			lua_rawgeti(L, sp->choices, i);
			ok = lua_rawequal(L, -1, idx);
			lua_pop(L, 1);
		}
		if (!ok) {
			buf_adds(reason, "not one of the choices");
			return -1;
		}
		break;
	default:
		break;
	}
	if (!ok) {
		buf_addf(reason, "expected a %s, got %s", type_names[sp->type],
		         codec_isnull(L, idx) ? "null" : lua_pushfstring(L, "a %s", luaL_typename(L, idx)));
		if (!codec_isnull(L, idx))
			lua_pop(L, 1);
		return -1;
	}
	return 0;
}

/* Copy s[0..n) without surrounding white space into out. */
static void trim(const char *s, size_t n, Buf *out)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	buf_reset(out);
	buf_add(out, s, n);
}

/*
 * Turn answer text into a value of the spec's type and push it; -1 with
 * a reason when the text is not such an answer.
 */
static int answer_parse(lua_State *L, Host *h, const Spec *sp, const char *text, size_t n, Buf *reason)
{
	Buf *t = &h->why;
	const char *shown;
	buf_reset(reason);
	trim(text, n, t);
	shown = sp->secret ? "(hidden)" : buf_str(t);   /* a secret is never repeated */
	if (sp->type == T_DONE) {
		lua_pushboolean(L, 1);
		return 0;
	}
	/* Text after a NUL byte would be ignored by the comparisons below. */
	if (sp->type != T_STRING && memchr(t->data ? t->data : "", '\0', t->len)) {
		buf_adds(reason, "the answer holds a NUL byte");
		return -1;
	}
	if (t->len == 0) {
		if (sp->def) {
			lua_pushvalue(L, sp->def);
			return 0;
		}
		if (sp->type == T_STRING && n > 0) {
			lua_pushlstring(L, text, n);
			return 0;
		}
		buf_adds(reason, "an answer is required");
		return -1;
	}
	switch (sp->type) {
	case T_STRING:
		lua_pushlstring(L, text, n);
		return 0;
	case T_NUMBER:
	{
		if (lua_stringtonumber(L, buf_str(t)) == t->len + 1) {
			lua_Number v = lua_tonumber(L, -1);
			if (v - v == 0)
				return 0;
			lua_pop(L, 1);
			buf_addf(reason, "not a finite number: \"%s\"", shown);
			return -1;
		}
	}
		buf_addf(reason, "not a number: \"%s\"", shown);
		return -1;
	case T_BOOLEAN: {
		static const char *const yes[] = { "y", "yes", "true", "1", NULL };
		static const char *const no[] = { "n", "no", "false", "0", NULL };
		for (int i = 0; yes[i]; i++)
			if (strcasecmp(buf_str(t), yes[i]) == 0 || strcasecmp(buf_str(t), no[i]) == 0) {
				lua_pushboolean(L, strcasecmp(buf_str(t), yes[i]) == 0);
				return 0;
			}
		buf_addf(reason, "answer y or n, not \"%s\"", shown);
		return -1;
	}
	case T_CHOICE: {
		char *end;
		long k = strtol(buf_str(t), &end, 10);
		for (int i = 1; i <= sp->nchoices; i++) {
			lua_rawgeti(L, sp->choices, i);
			if (strcmp(lua_tostring(L, -1), buf_str(t)) == 0)
				return 0;
			lua_pop(L, 1);
		}
		if (*end == '\0' && k >= 1 && k <= sp->nchoices) {
			lua_rawgeti(L, sp->choices, (lua_Integer)k);
			return 0;
		}
		buf_addf(reason, "not one of the choices (a name, or 1 to %d): \"%s\"", sp->nchoices, shown);
		return -1;
	}
	case T_JSON:
		if (codec_decode(L, buf_str(t), t->len, &h->line) == 0)
			return 0;
		buf_addf(reason, "not JSON: %s", sp->secret ? "(details hidden: the answer is secret)" : buf_str(&h->line));
		return -1;
	}
	return -1;
}

/*
 * Does the step take the value on top? It must be recordable (JSON holds
 * it: its canonical text goes to h->output) and pass validate(value).
 * 0, or -1 with the reason. A secret's value is remembered first, so that
 * a reason quoting it shows <secret:NAME> instead.
 */
static int answer_accept(lua_State *L, Host *h, const Spec *sp, Buf *reason)
{
	int ok;
	buf_reset(reason);
	buf_reset(&h->output);
	if (codec_encode(L, -1, &h->output, &h->why)) {
		buf_addf(reason, "the answer cannot be recorded: %s", buf_str(&h->why));
		return -1;
	}
	if (sp->secret)
		secrets_remember(L, h, sp->name, -1);
	if (!sp->validate)
		return 0;
	lua_pushvalue(L, sp->validate);
	lua_pushvalue(L, -2);
	lua_call(L, 1, 2);
	ok = lua_toboolean(L, -2);
	if (!ok && lua_isstring(L, -1)) {
		buf_adds(reason, host_hide_secrets(L, lua_tostring(L, -1)));
		lua_pop(L, 1);
	} else if (!ok) {
		buf_adds(reason, "rejected by validate");
	}
	lua_pop(L, 2);
	return ok ? 0 : -1;
}

/* Write the prompt for a manual step into b. */
static void prompt_text(lua_State *L, Host *h, const Spec *sp, int occurrence, Buf *b)
{
	const char *instructions = lua_tostring(L, 2);
	Buf shown = { 0 };
	buf_reset(b);
	buf_addf(b, "\n== manual step: %s", sp->name);
	if (occurrence > 1)
		buf_addf(b, " #%d", occurrence);
	buf_adds(b, " ==\n");
	if (*instructions) {
		buf_adds(b, instructions);
		if (instructions[strlen(instructions) - 1] != '\n')
			buf_addc(b, '\n');
	}
	if (h->inputs.len)
		buf_addf(b, "  inputs: %s\n", buf_str(&h->inputs));
	for (int i = 1; i <= sp->nchoices; i++) {
		lua_rawgeti(L, sp->choices, i);
		buf_addf(b, "  %d) %s\n", i, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	buf_adds(b, sp->name);
	switch (sp->type) {
	case T_DONE: buf_adds(b, " [Enter when done]"); break;
	case T_NUMBER: buf_adds(b, " [number]"); break;
	case T_BOOLEAN: buf_adds(b, " [y/n]"); break;
	case T_CHOICE: buf_addf(b, " [1-%d]", sp->nchoices); break;
	case T_JSON: buf_adds(b, " [JSON]"); break;
	default: break;
	}
	if (sp->def && sp->type != T_DONE) {
		size_t mark = b->len;
		buf_adds(b, " (default ");
		if (lua_type(L, sp->def) == LUA_TSTRING)
			buf_adds(b, lua_tostring(L, sp->def));
		else if (codec_encode(L, sp->def, b, &h->why)) {
			b->len = mark;
			buf_adds(b, " (default ?");
		}
		buf_addc(b, ')');
	}
	if (sp->secret)
		buf_adds(b, " (hidden)");
	buf_adds(b, "> ");
	/* Instructions, choices, a default: a secret in any of them is shown hidden. */
	if (secrets_hide(&h->secrets, b->data, b->len, &shown)) {
		Buf t = *b;
		*b = shown;
		shown = t;
	}
	buf_free(&shown);
}

/*
 * Get the answer from --answer/--answers, pushing it; 1 when there was
 * one, 0 when the person must be asked. A flag answer that is no answer
 * of this step is a usage error.
 */
static int answer_from_flags(lua_State *L, Host *h, const Spec *sp)
{
	int found;
	lua_getfield(L, LUA_REGISTRYINDEX, ANSWERS);
	found = lua_getfield(L, -1, sp->name) != LUA_TNIL;
	lua_remove(L, -2);
	if (!found) {
		lua_pop(L, 1);
		return 0;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, ANSWERS_USED);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, sp->name);
	lua_pop(L, 1);
	if (lua_type(L, -1) == LUA_TSTRING) {
		size_t n;
		const char *text = lua_tolstring(L, -1, &n);
		if (answer_parse(L, h, sp, text, n, &h->reason) == 0) {
			lua_remove(L, -2);
			goto check;
		}
	} else if (answer_check(L, sp, lua_gettop(L), &h->reason) == 0) {
		goto check;
	}
	return host_fail(L, EXIT_USAGE, "step \"%s\": the answer given by --answer/--answers is wrong: %s",
	                 sp->name, buf_str(&h->reason));
check:
	if (answer_accept(L, h, sp, &h->reason))
		return host_fail(L, EXIT_USAGE, "step \"%s\": the answer given by --answer/--answers is wrong: %s",
		                 sp->name, buf_str(&h->reason));
	return 1;
}

/* POST {pipeline, run, step, occurrence, instructions, inputs} to notify; a failure only warns. */
static void notify_waiting(lua_State *L, Host *h, const Spec *sp, int occurrence)
{
	int top = lua_gettop(L);
	lua_createtable(L, 0, 6);
	lua_pushstring(L, h->pipeline);
	lua_setfield(L, -2, "pipeline");
	lua_pushinteger(L, h->run);
	lua_setfield(L, -2, "run");
	lua_pushstring(L, sp->name);
	lua_setfield(L, -2, "step");
	lua_pushinteger(L, occurrence);
	lua_setfield(L, -2, "occurrence");
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "instructions");
	if (sp->inputs) {
		lua_pushvalue(L, sp->inputs);
		lua_setfield(L, -2, "inputs");
	}
	buf_reset(&h->line);
	CodecOptions hide = { &h->secrets, 0, 0, 0 };
	if (codec_encode_as(L, -1, &h->line, &h->reason, &hide) == 0 &&
	    notify_post(sp->notify, buf_str(&h->line), &h->reason) != 0)
		fputs(host_hide_secrets(L, lua_pushfstring(L, "understudy: warning: step \"%s\": notify %s failed: %s\n",
		                                           sp->name, sp->notify, buf_str(&h->reason))), stderr);
	lua_settop(L, top);
}

/*
 * Ask until a valid answer is typed, and push it. Returns how it was
 * answered: prompt, stdin, or default when the timeout passed.
 */
static const char *answer_from_person(lua_State *L, Host *h, const Spec *sp, int occurrence)
{
	Buf *prompt = &h->prompt, *reason = &h->reason;
	int wrong = 0;
	if (sp->notify)
		notify_waiting(L, h, sp, occurrence);
	prompt_text(L, h, sp, occurrence, prompt);
	for (;;) {
		int rc = prompt_read_line(h, buf_str(prompt), sp->secret, sp->timeout_ms, &h->line);
		if (rc == PROMPT_TIMEOUT) {
			fprintf(stderr, "  (no answer in %g s: the default is taken)\n", sp->timeout_ms / 1000.0);
			lua_pushvalue(L, sp->def);
			return "default";
		}
		if (rc == PROMPT_INTERRUPTED)
			host_raise_interrupt(L, "interrupted at step \"%s\"", sp->name);
		if (rc == PROMPT_EOF)
			host_raise_interrupt(L, "end of input at step \"%s\"; answer it with --answer '%s=VALUE'",
			                     sp->name, sp->name);
		if (answer_parse(L, h, sp, buf_str(&h->line), h->line.len, reason) == 0) {
			if (answer_accept(L, h, sp, reason) == 0)
				break;
			lua_pop(L, 1);
		}
		/* Lines from a file or a pipe do not get better by asking again: three wrong ones end the run. */
		if (!h->tty && ++wrong == WRONG_ANSWERS_MAX)
			host_fail(L, EXIT_USAGE, "step \"%s\": %d wrong answers in a row from standard input, the last: %s;"
			          " answer it with --answer '%s=VALUE'", sp->name, wrong, buf_str(reason), sp->name);
		fprintf(stderr, "  ! %s\n", buf_str(reason));
		/* Ask again with the prompt's last line only. */
		const char *last = strrchr(buf_str(prompt), '\n');
		if (last) {
			size_t skip = (size_t)(last + 1 - prompt->data);
			memmove(prompt->data, prompt->data + skip, prompt->len - skip + 1);
			prompt->len -= skip;
		}
	}
	return h->tty ? "prompt" : "stdin";
}

/*
 * Describe, in out, a value the record cannot hold, as the JSON string
 * "(not JSON: why)", with why from h->why (valid UTF-8: the codec makes
 * it so) and the secrets hidden.
 */
static void describe_unrecordable(lua_State *L, Host *h, Buf *out)
{
	buf_reset(out);
	lua_pushfstring(L, "(not JSON: %s)", host_hide_secrets(L, buf_str(&h->why)));
	if (codec_encode(L, -1, out, &h->why) != 0) {
		buf_reset(out);
		buf_adds(out, "\"(not JSON)\"");
	}
	lua_pop(L, 2);
}

/* What the shadow automation proposed. */
typedef struct Candidate {
	int value;                 /* stack slot of its answer, 0 when it has none */
	int usable;                /* a valid answer of the step's type */
	char source[512];          /* "file.lua:12-15" */
} Candidate;

/*
 * Run the candidate with the step's inputs, before anyone answers. Its
 * errors never break the run: they go to h->errors. Its answer's JSON goes
 * to h->candidate.
 */
static void candidate_run(lua_State *L, Host *h, const Spec *sp, Candidate *c)
{
	lua_Debug ar;
	memset(c, 0, sizeof *c);
	buf_reset(&h->candidate);
	buf_reset(&h->errors);
	lua_pushvalue(L, sp->candidate);
	if (lua_getinfo(L, ">S", &ar) && ar.source[0] == '@') {
		char *full = realpath(ar.source + 1, NULL);   /* suggest may run from another folder */
		snprintf(c->source, sizeof c->source, "%s:%d-%d", full ? full : ar.source + 1,
		         ar.linedefined, ar.lastlinedefined);
		free(full);
	}
	lua_pushvalue(L, sp->candidate);
	if (sp->inputs)
		lua_pushvalue(L, sp->inputs);
	else
		lua_pushnil(L);
	if (host_pcall(L, 1, 1) != LUA_OK) {
		buf_addf(&h->errors, "candidate failed: %s\n%s", host_error_text(L, -1), buf_str(&h->traceback));
		lua_pop(L, 1);
		return;
	}
	c->value = lua_gettop(L);
	/* Compared with the answer's JSON: a secret step's is not hidden (it is never stored), nor is this. */
	if (sp->secret ? codec_encode(L, c->value, &h->candidate, &h->why) : step_encode(L, h, c->value, &h->candidate, NULL)) {
		buf_addf(&h->errors, "the candidate's answer cannot be recorded: %s", host_hide_secrets(L, buf_str(&h->why)));
		lua_pop(L, 1);
		describe_unrecordable(L, h, &h->candidate);
		return;
	}
	lua_pushvalue(L, c->value);
	if (answer_check(L, sp, c->value, &h->reason) == 0 && answer_accept(L, h, sp, &h->reason) == 0)
		c->usable = 1;
	else
		buf_addf(&h->errors, "the candidate's answer is not a valid answer: %s", buf_str(&h->reason));
	lua_pop(L, 1);
}

/* Does the person's answer (at ans, JSON in h->output) agree with the candidate? */
static int candidate_agrees(lua_State *L, Host *h, const Spec *sp, const Candidate *c, int ans)
{
	if (!c->value || !c->usable)
		return 0;
	if (!sp->compare)
		return strcmp(buf_str(&h->output), buf_str(&h->candidate)) == 0;
	lua_pushvalue(L, sp->compare);
	lua_pushvalue(L, ans);
	lua_pushvalue(L, c->value);
	if (host_pcall(L, 2, 1) != LUA_OK) {
		buf_addf(&h->errors, "%scompare failed: %s", h->errors.len ? "\n" : "", host_error_text(L, -1));
		lua_pop(L, 1);
		return 0;
	}
	int agrees = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return agrees;
}

/* Commit a step durably, or fail the run with code 3 showing what was lost. */
static void step_commit(lua_State *L, Host *h, const StoreStep *row)
{
	if (store_step_add(h->store, row) == 0 && store_flush_durable(h->store) == 0)
		return;
	if (!row->secret && row->output)
		fprintf(stderr, "understudy: the answer to \"%s\" was not recorded; it was: %s\n", row->name, row->output);
	host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
}

/* manual(name, instructions [, opts]) -> answer */
static int l_manual(lua_State *L)
{
	Host *h = host_get(L);
	Spec sp;
	Step s;
	StoreStep row;
	Candidate cand = { 0 };
	char secret_hash[65];
	const char *how = NULL;
	int ans, streak = 0, n;

	spec_read(L, &sp);
	if (sp.def && sp.type != T_DONE && answer_check(L, &sp, sp.def, &h->why))
		step_error(L, sp.name, "default is wrong: %s", buf_str(&h->why));
	buf_reset(&h->output);
	if (sp.def && codec_encode(L, sp.def, &h->output, &h->why))
		step_error(L, sp.name, "default cannot be recorded: %s", buf_str(&h->why));
	s.name = sp.name;
	s.kind = "manual";
	step_begin(L, h, &s, sp.inputs);
	if ((n = replay_step(L, h, &s)) >= 0)
		return n;
	host_outside(L);
	if (sp.candidate)
		candidate_run(L, h, &sp, &cand);
	else
		buf_reset(&h->errors);
	if (host_interrupted)   /* Ctrl-C in the candidate stops the run, not just the candidate */
		host_raise_interrupt(L, "interrupted at step \"%s\"", sp.name);
	s.started_mono = clock_mono_ms();   /* human time starts when the asking does */

	if (answer_from_flags(L, h, &sp)) {
		how = "flag";
	} else if (sp.trust && cand.usable && !h->opt->no_trust) {
		streak = store_candidate_streak(h->store, h->pipeline, sp.name, sp.trust);
		if (streak < 0)
			host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		if (streak >= sp.trust) {
			lua_pushvalue(L, cand.value);
			how = "candidate";
		}
	}
	if (!how) {
		if (sp.show && cand.usable)
			sp.def = cand.value;   /* auto proposes, the person confirms */
		how = answer_from_person(L, h, &sp, s.occurrence);
	}
	ans = lua_gettop(L);

	step_row(h, &s, &row);
	row.how = how;
	row.instructions = host_hide_secrets(L, lua_tostring(L, 2));
	row.secret = sp.secret;
	buf_reset(&h->output);
	if (sp.secret) {
		/* Only a keyed hash of a secret is kept, for consistency. */
		unsigned char key[32];
		if (codec_encode(L, ans, &h->output, &h->why))
			host_fail(L, EXIT_USAGE, "step \"%s\": the answer cannot be recorded: %s", sp.name, buf_str(&h->why));
		secrets_remember(L, h, sp.name, ans);
		if (h->store->m->secret_key(h->store, key, STORE_KEY_MAKE))
			host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		sha256_hmac_hex(key, sizeof key, h->output.data, h->output.len, secret_hash);
		row.secret_hash = secret_hash;
	} else {
		CodecOptions o = { 0 };
		if (step_encode(L, h, ans, &h->output, &o))
			host_fail(L, EXIT_USAGE, "step \"%s\": the answer cannot be recorded: %s", sp.name, buf_str(&h->why));
		row.output = buf_str(&h->output);
		row.replayable = !o.hidden;   /* a secret in it: asked again on resume, never replayed */
	}
	if (sp.candidate) {
		row.candidate_source = cand.source[0] ? cand.source : NULL;
		if (!sp.secret)
			row.candidate_output = h->candidate.len ? buf_str(&h->candidate) : NULL;
		if (strcmp(how, "default") != 0 && strcmp(how, "candidate") != 0)
			row.candidate_agrees = candidate_agrees(L, h, &sp, &cand, ans);
		if (host_interrupted)
			host_raise_interrupt(L, "interrupted at step \"%s\"", sp.name);
	}
	row.error = h->errors.len ? host_hide_secrets(L, buf_str(&h->errors)) : NULL;
	step_commit(L, h, &row);
	step_status(h, &row, sp.secret ? "(secret)" : row.output);
	if (strcmp(how, "candidate") == 0)
		fprintf(stderr, "  %s answered by candidate: %d/%d agreed\n", sp.name, streak, sp.trust);
	else if (row.candidate_agrees == 0)
		fprintf(stderr, "  ! the candidate %s%s\n", h->errors.len ? "failed: " : "proposed ",
		        h->errors.len ? row.error : sp.secret ? "another answer" : buf_str(&h->candidate));
	lua_pushvalue(L, ans);
	return 1;
}

/*
 * Record in h->output the values of an auto step, from base + 1 to the top:
 * row's output is the first value, canonical (null when none); results is
 * every value, exactly (1.0 stays a float), when there are not exactly one
 * or the output lost something. A value the record cannot hold is
 * described instead, and the row is not replayable; so is one with a
 * secret in it.
 */
static void auto_values(lua_State *L, Host *h, int base, StoreStep *row)
{
	int nres = lua_gettop(L) - base, rc = 0, hidden = 0;
	size_t results = 0;
	CodecOptions o = { 0 };
	buf_reset(&h->output);
	if (nres == 0)
		buf_adds(&h->output, "null");
	else
		rc = step_encode(L, h, base + 1, &h->output, &o);
	hidden = o.hidden;
	if (rc == 0 && (nres != 1 || o.lossy)) {
		buf_addc(&h->output, '\0');   /* output, then results, in one buffer */
		results = h->output.len;
		buf_addc(&h->output, '[');
		for (int i = 1; i <= nres && rc == 0; i++) {
			CodecOptions exact = { 0 };
			exact.exact = 1;
			if (i > 1)
				buf_addc(&h->output, ',');
			rc = step_encode(L, h, base + i, &h->output, &exact);
			hidden += exact.hidden;
		}
		buf_addc(&h->output, ']');
	}
	if (rc != 0) {
		describe_unrecordable(L, h, &h->output);
		results = 0;
		row->replayable = 0;
	}
	row->output = buf_str(&h->output);
	row->results = results ? h->output.data + results : NULL;
	if (hidden)
		row->replayable = 0;
}

/* auto(name, fn [, opts]) -> what fn returns */
static int l_auto(lua_State *L)
{
	static const char *const known[] = { "inputs", "retries", NULL };
	Host *h = host_get(L);
	Step s;
	StoreStep row;
	lua_Integer retries = 0;
	Buf *errors = &h->errors;
	int ok = 0, base, n;

	s.name = step_name(L);
	s.kind = "auto";
	luaL_checktype(L, 2, LUA_TFUNCTION);
	opts_check(L, 3, s.name, known);
	lua_settop(L, 3);
	if (lua_istable(L, 3)) {
		lua_getfield(L, 3, "inputs");
		lua_getfield(L, 3, "retries");
		if (!lua_isnil(L, 5)) {
			if (!lua_isinteger(L, 5) || lua_tointeger(L, 5) < 0)
				step_error(L, s.name, "retries must be a whole number >= 0");
			retries = lua_tointeger(L, 5);
		}
	} else {
		lua_pushnil(L);
		lua_pushnil(L);
	}
	/* 4: inputs, 5: retries */
	step_begin(L, h, &s, 4);
	if ((n = replay_step(L, h, &s)) >= 0)
		return n;
	buf_reset(errors);
	base = lua_gettop(L);
	for (lua_Integer attempt = 0; attempt <= retries; attempt++) {
		lua_settop(L, base);
		lua_pushvalue(L, 2);
		lua_pushvalue(L, 4);
		if (host_pcall(L, 1, LUA_MULTRET) == LUA_OK) {
			ok = 1;
			break;
		}
		if (retries)
			buf_addf(errors, "try %lld: ", (long long)attempt + 1);
		buf_addf(errors, "%s\n%s\n", host_error_text(L, -1), buf_str(&h->traceback));
		if (attempt == retries || host_interrupted)
			break;
		fprintf(stderr, "[retry] auto %s: %s\n", s.name, host_hide_secrets(L, host_error_text(L, -1)));
		lua_pop(L, 1);
	}
	n = lua_gettop(L) - base;

	step_row(h, &s, &row);
	row.how = "run";
	if (errors->len) {
		errors->data[--errors->len] = '\0';
		row.error = host_hide_secrets(L, buf_str(errors));
		lua_insert(L, base);   /* below the values or the error message */
		base++;
	}
	if (ok)
		auto_values(L, h, base, &row);
	else
		row.status = host_interrupted ? "interrupted" : "failed";
	/* A step that reached the outside world is committed as it ends: a resume never redoes it. */
	if (store_step_add(h->store, &row) || (h->outside != s.outside && store_flush(h->store)))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	step_status(h, &row, ok ? row.output : NULL);
	if (!ok) {
		const char *msg = host_hide_secrets(L, host_error_text(L, -1));
		if (host_interrupted)
			host_raise_interrupt(L, "interrupted at step \"%s\"", s.name);
		if (host_error_code(L, -2) != EXIT_FAILED) {
			lua_pop(L, 1);
			return lua_error(L);
		}   /* the history failed inside: the same failure, not the step's */
		lua_pushfstring(L, "step \"%s\" failed: %s", s.name, msg);
		return host_raise(L, EXIT_FAILED, lua_tostring(L, -1), buf_str(&h->traceback));
	}
	return n;
}

/* Register manual and auto, and the registry tables they use. */
void step_open(lua_State *L)
{
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, OCCURRENCES);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, ANSWERS_USED);
	if (lua_getfield(L, LUA_REGISTRYINDEX, ANSWERS) != LUA_TTABLE) {
		lua_newtable(L);
		lua_setfield(L, LUA_REGISTRYINDEX, ANSWERS);
	}
	lua_pop(L, 1);
	if (lua_getfield(L, LUA_REGISTRYINDEX, REPLAY) == LUA_TTABLE) {
		Host *h = host_get(L);
		h->replaying = 1;
		h->replay_next = 1;
	}
	lua_pop(L, 1);
	lua_register(L, "manual", l_manual);
	lua_register(L, "auto", l_auto);
}
