/* ladder.c: the shadow automation: a candidate runs beside the person, and earns trust. */
#include "ladder.h"
#include "answer.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Run the candidate with the step's inputs, before anyone answers. Its
 * errors never break the run: they go to h->step.errors. Its answer's JSON goes
 * to h->step.candidate.
 */
void ladder_candidate_run(lua_State *L, Host *h, const Spec *sp, Candidate *c)
{
	lua_Debug ar;
	memset(c, 0, sizeof *c);
	buf_reset(&h->step.candidate);
	buf_reset(&h->step.errors);
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
		buf_addf(&h->step.errors, "candidate failed: %s\n%s", host_error_text(L, -1), buf_str(&h->traceback));
		lua_pop(L, 1);
		return;
	}
	c->value = lua_gettop(L);
	/* Compared with the answer's JSON: a secret step's is not hidden (it is never stored), nor is this. */
	if (sp->secret ? codec_encode(L, c->value, &h->step.candidate, &h->step.why) : step_encode(L, h, c->value, &h->step.candidate, NULL)) {
		buf_addf(&h->step.errors, "the candidate's answer cannot be recorded: %s", host_hide_secrets(L, buf_str(&h->step.why)));
		lua_pop(L, 1);
		step_describe_unrecordable(L, h, &h->step.candidate);
		return;
	}
	lua_pushvalue(L, c->value);
	if (answer_check(L, sp, c->value, &h->step.reason) == 0 && answer_accept(L, h, sp, &h->step.reason) == 0)
		c->usable = 1;
	else
		buf_addf(&h->step.errors, "the candidate's answer is not a valid answer: %s", buf_str(&h->step.reason));
	lua_pop(L, 1);
}

/* Does the person's answer (at ans, JSON in h->step.output) agree with the candidate? */
int ladder_candidate_agrees(lua_State *L, Host *h, const Spec *sp, const Candidate *c, int ans)
{
	if (!c->value || !c->usable)
		return 0;
	if (!sp->compare)
		return strcmp(buf_str(&h->step.output), buf_str(&h->step.candidate)) == 0;
	lua_pushvalue(L, sp->compare);
	lua_pushvalue(L, ans);
	lua_pushvalue(L, c->value);
	if (host_pcall(L, 2, 1) != LUA_OK) {
		buf_addf(&h->step.errors, "%scompare failed: %s", h->step.errors.len ? "\n" : "", host_error_text(L, -1));
		lua_pop(L, 1);
		return 0;
	}
	int agrees = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return agrees;
}
int ladder_trusted(lua_State *L, Host *h, const Spec *sp, const Candidate *c, int *streak)
{
	if (!sp->trust || !c->usable || h->opt->no_trust)
		return 0;
	*streak = store_candidate_streak(h->store, h->pipeline, sp->name, sp->trust);
	if (*streak < 0)
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	if (*streak < sp->trust)
		return 0;
	lua_pushvalue(L, c->value);
	return 1;
}
