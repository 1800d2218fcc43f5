/* answer.c: a manual step's options, and its answers: typed from text, checked, taken. */
#include "answer.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const answer_types[] = { "done", "string", "number", "boolean", "choice", "json", NULL };

const char *answer_failed(lua_State *L, int idx)
{
	const char *reason = NULL;
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx))
		return NULL;
	luaL_getmetatable(L, FAIL_MT);
	if (lua_rawequal(L, -1, -2)) {
		lua_getfield(L, idx, "reason");
		reason = lua_tostring(L, -1);   /* the table holds it */
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	return reason;
}

const char *answer_type_name(int type)
{
	return answer_types[type];
}

/* manual()'s options, in the order of their stack slots. */
const char *const answer_options[] = {
	"type", "default", "choices", "validate", "secret", "inputs",
	"candidate", "show", "compare", "trust", "timeout", "notify", NULL,
};
enum { O_TYPE, O_DEFAULT, O_CHOICES, O_VALIDATE, O_SECRET, O_INPUTS,
       O_CANDIDATE, O_SHOW, O_COMPARE, O_TRUST, O_TIMEOUT, O_NOTIFY };

/* Read the options of manual() into sp; values pushed at known slots. */
void answer_spec_read(lua_State *L, Spec *sp)
{
	int opts = 3, base;
	memset(sp, 0, sizeof *sp);
	sp->name = step_name(L);
	sp->instructions = luaL_checkstring(L, 2);
	step_opts_check(L, opts, sp->name, answer_options);
	lua_settop(L, opts);
	base = opts + 1;
	for (int i = 0; answer_options[i]; i++) {
		if (lua_istable(L, opts))
			lua_getfield(L, opts, answer_options[i]);
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
		for (i = 0; t && answer_types[i] && strcmp(answer_types[i], t) != 0; i++)
			;
		if (!t || !answer_types[i])
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
int answer_check(lua_State *L, const Spec *sp, int idx, Buf *reason)
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
		buf_addf(reason, "expected a %s, got %s", answer_types[sp->type],
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
int answer_parse(lua_State *L, Host *h, const Spec *sp, const char *text, size_t n, Buf *reason)
{
	Buf *t = &h->step.why;
	const char *shown;
	buf_reset(reason);
	trim(text, n, t);
	if (sp->audit && strcasecmp(buf_str(t), "y") == 0)
		buf_reset(t);   /* an audit: y keeps the code's answer, as Enter does */
	shown = sp->secret ? "(hidden)" : buf_str(t);   /* a secret is never repeated */
	if (sp->type == T_DONE) {
		if (strncasecmp(buf_str(t), "fail", 4) == 0 && (t->len == 4 || t->data[4] == ':')) {
			/* "fail" or "fail: why": the person says the step did not get done. */
			const char *why = t->len > 5 ? buf_str(t) + 5 : "";
			lua_createtable(L, 0, 1);
			lua_pushstring(L, why + strspn(why, " \t"));
			lua_setfield(L, -2, "reason");
			luaL_setmetatable(L, FAIL_MT);
			return 0;
		}
		/* Enter, or a word that says done; anything else may be a person saying it is not. */
		static const char *const done[] = { "", "done", "y", "yes", "ok", "true", NULL };
		for (int i = 0; done[i]; i++)
			if (strcasecmp(buf_str(t), done[i]) == 0) {
				lua_pushboolean(L, 1);
				return 0;
			}
		buf_addf(reason, "press Enter (or answer done) when it is done, or fail (fail: why) when it is not; not \"%s\"",
		         shown);
		return -1;
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
		/* The choice itself; its number; the same but for case; or the start of only one. */
		char *end;
		long k = strtol(buf_str(t), &end, 10);
		int caseless = 0, prefixed = 0, matches = 0;
		for (int i = 1; i <= sp->nchoices; i++) {
			const char *c;
			lua_rawgeti(L, sp->choices, i);
			c = lua_tostring(L, -1);
			lua_pop(L, 1);
			if (strcmp(c, buf_str(t)) == 0) {
				lua_rawgeti(L, sp->choices, i);
				return 0;
			}
			if (!caseless && strcasecmp(c, buf_str(t)) == 0)
				caseless = i;
			if (t->len && strncasecmp(c, buf_str(t), t->len) == 0)
				prefixed = i, matches++;
		}
		if (*end == '\0' && k >= 1 && k <= sp->nchoices) {
			lua_rawgeti(L, sp->choices, (lua_Integer)k);
			return 0;
		}
		if (caseless || matches == 1) {
			lua_rawgeti(L, sp->choices, caseless ? caseless : prefixed);
			return 0;
		}
		if (matches > 1) {
			buf_addf(reason, "\"%s\" starts %d of the choices: say more", shown, matches);
			return -1;
		}
		buf_addf(reason, "not one of the choices (a name, or 1 to %d): \"%s\"", sp->nchoices, shown);
		return -1;
	}
	case T_JSON:
		if (codec_decode(L, buf_str(t), t->len, &h->step.line) == 0)
			return 0;
		buf_addf(reason, "not JSON: %s", sp->secret ? "(details hidden: the answer is secret)" : buf_str(&h->step.line));
		return -1;
	}
	return -1;
}

/*
 * Does the step take the value on top? It must be recordable (JSON holds
 * it: its canonical text goes to h->step.output) and pass validate(value).
 * 0, or -1 with the reason. A secret's value is remembered first, so that
 * a reason quoting it shows <secret:NAME> instead.
 */
int answer_accept(lua_State *L, Host *h, const Spec *sp, Buf *reason)
{
	int ok;
	buf_reset(reason);
	if (answer_failed(L, -1))
		return 0;   /* nothing to record or validate: the step failed */
	buf_reset(&h->step.output);
	if (codec_encode(L, -1, &h->step.output, &h->step.why)) {
		buf_addf(reason, "the answer cannot be recorded: %s", buf_str(&h->step.why));
		return -1;
	}
	if (sp->secret)
		step_secret_remember(L, h, sp->name, -1);
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

/*
 * Get the answer from --answer/--answers, pushing it; 1 when there was
 * one, 0 when the person must be asked. A flag answer that is no answer
 * of this step is a usage error.
 */
int answer_from_flags(lua_State *L, Host *h, const Spec *sp)
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
		if (answer_parse(L, h, sp, text, n, &h->step.reason) == 0) {
			lua_remove(L, -2);
			goto check;
		}
	} else if (answer_check(L, sp, lua_gettop(L), &h->step.reason) == 0) {
		goto check;
	}
	return host_fail(L, EXIT_USAGE, "step \"%s\": the answer given by --answer/--answers is wrong: %s",
	                 sp->name, buf_str(&h->step.reason));
check:
	if (answer_accept(L, h, sp, &h->step.reason))
		return host_fail(L, EXIT_USAGE, "step \"%s\": the answer given by --answer/--answers is wrong: %s",
		                 sp->name, buf_str(&h->step.reason));
	return 1;
}