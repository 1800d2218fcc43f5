/* step.c: manual() asks a person, auto() runs code; both record what happened. */
#include "step.h"
#include "answer.h"
#include "ladder.h"
#include "prompt.h"
#include "remote.h"
#include "replay.h"
#include "sha256.h"
#include "near.h"
#include "progress.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUMMARY_MAX 60
#define STATUS_MAX 511   /* bytes of a status line at most */
#define STEP_NAME_MAX 200     /* bytes */

const char *const step_auto_options[] = { "inputs", "retries", "audit", NULL };

/* Raise a misuse error naming the step and where the script called it. */
int step_error(lua_State *L, const char *name, const char *fmt, ...)
{
	va_list ap;
	luaL_where(L, 1);
	lua_pushfstring(L, "step \"%s\": ", name);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 3);
	return host_raise(L, EXIT_USAGE, lua_tostring(L, -1), "");   /* the script's mistake: exit 2, no traceback */
}

/* Raise when the options table at idx has a key not in known. */
void step_opts_check(lua_State *L, int idx, const char *name, const char *const known[])
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
		if (!known[i]) {
			const char *near = near_word(k, known, -1);
			step_error(L, name, "unknown option '%s'%s%s%s", k, near ? " (did you mean '" : "", near ? near : "",
			           near ? "'?)" : "");
		}
		lua_pop(L, 1);
	}
}

/*
 * The step's name, argument 1: text that status lines, tables and the
 * record can hold, or raise naming where the script called the step.
 */
const char *step_name(lua_State *L)
{
	size_t n, i = 0;
	luaL_Buffer shown;
	const char *name;
	if (lua_type(L, 1) != LUA_TSTRING) {
		luaL_where(L, 1);
		lua_pushfstring(L, "a step's name must be a string, not %s", luaL_typename(L, 1));
		lua_concat(L, 2);
		host_raise(L, EXIT_USAGE, lua_tostring(L, -1), "");
	}
	name = lua_tolstring(L, 1, &n);
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
	host_raise(L, EXIT_USAGE, lua_tostring(L, -1), "");
	return NULL;
}

/*
 * Encode the value at idx for the record, with the run's secrets hidden;
 * 0, or -1 with why. o, when not NULL, says how and tells back.
 */
int step_encode(lua_State *L, Host *h, int idx, Buf *out, CodecOptions *o)
{
	CodecOptions mine = { 0 };
	if (!o)
		o = &mine;
	o->secrets = &h->secrets;
	return codec_encode_as(L, idx, out, &h->step.why, o);
}

/*
 * Remember the value at idx as a secret of step name: a string, a number,
 * and those inside a table (an encodable one: no cycles).
 */
void step_secret_remember(lua_State *L, Host *h, const char *name, int idx)
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
			step_secret_remember(L, h, name, -1);
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
	buf_reset(&h->step.inputs);
	if (inputs && !lua_isnil(L, inputs) && step_encode(L, h, inputs, &h->step.inputs, NULL))
		step_error(L, s->name, "inputs cannot be recorded as JSON: %s", buf_str(&h->step.why));
	s->started_wall = clock_wall_ms();
	s->started_mono = clock_mono_ms();
	s->outside = h->outside;
}

/* Fill a row with what every step records. */
void step_row(Host *h, const Step *s, StoreStep *row)
{
	memset(row, 0, sizeof *row);
	row->run = h->run;
	row->pipeline = h->pipeline;
	row->seq = ++h->seq;
	row->name = s->name;
	row->occurrence = s->occurrence;
	row->kind = s->kind;
	row->inputs = h->step.inputs.len ? buf_str(&h->step.inputs) : NULL;
	row->replayable = 1;
	row->status = "ok";
	row->candidate_agrees = -1;
	row->operator = h->operator;
	row->started_ms = s->started_wall;
	row->finished_ms = clock_wall_ms();
	row->duration_ms = clock_mono_ms() - s->started_mono;
}

/* Print the step's status line on stderr. */
void step_status(Host *h, const StoreStep *row, const char *value)
{
	const char *v = value ? value : "";
	int n = (int)strlen(v);
	char when[32];
	if (row->kind[0] == 'm' && strcmp(row->how, "candidate") == 0) {
		h->candidate_steps++;   /* the candidate answered alone: no person, no human time */
	} else if (row->kind[0] == 'm' && strcmp(row->how, "replay") != 0) {
		h->manual_steps++;
		if (strcmp(row->how, "prompt") == 0 || strcmp(row->how, "web") == 0 || strcmp(row->how, "remote") == 0)
			h->human_ms += row->duration_ms;   /* a person's time; not a default's wait, not an answer given in advance */
	}
	int ok = strcmp(row->status, "ok") == 0, repeatable = ok && row->kind[0] == 'a' && strcmp(row->how, "audit") != 0;
	Buf *line = &h->step.status;
	char num[24];
	if (repeatable && h->opt->quiet)
		return;   /* --quiet: failures, people's steps and the summary only */
	/* "[ok] auto NAME #2 = VALUE (how, 3 ms)", put together by hand: snprintf was a tenth of an auto step. */
	buf_reset(line);
	buf_adds(line, "[");
	buf_adds(line, host_colour(h, row->status));
	buf_adds(line, row->status);
	buf_adds(line, host_colour(h, NULL));
	buf_adds(line, "] ");
	buf_adds(line, row->kind);
	buf_adds(line, " ");
	buf_adds(line, row->name);
	if (row->occurrence > 1) {
		buf_adds(line, " #");
		buf_adds(line, buf_int(row->occurrence, num));
	}
	if (value) {
		buf_adds(line, " = ");
		buf_add(line, v, n > SUMMARY_MAX ? SUMMARY_MAX : (size_t)n);
		if (n > SUMMARY_MAX)
			buf_adds(line, "...");
	}
	buf_adds(line, " (");
	buf_adds(line, row->how);
	buf_adds(line, ", ");
	if (row->duration_ms < 1000) {
		buf_adds(line, buf_int(row->duration_ms, num));
		buf_adds(line, " ms)");
	} else {
		snprintf(when, sizeof when, "%.1f s)", (double)row->duration_ms / 1000.0);
		buf_adds(line, when);
	}
	if (line->len > STATUS_MAX)
		line->data[line->len = STATUS_MAX] = '\0';   /* a line no longer than it ever was */
	/* On a terminal, the same auto step again is the line in place (progress.c). */
	if (!progress_line(row->name, repeatable, buf_str(line))) {
		fputs(buf_str(line), stderr);
		fputc('\n', stderr);   /* one write still: stderr is line-buffered */
	}
}

/*
 * Describe, in out, a value the record cannot hold, as the JSON string
 * "(not JSON: why)", with why from h->step.why (valid UTF-8: the codec makes
 * it so) and the secrets hidden.
 */
void step_describe_unrecordable(lua_State *L, Host *h, Buf *out)
{
	buf_reset(out);
	lua_pushfstring(L, "(not JSON: %s)", host_hide_secrets(L, buf_str(&h->step.why)));
	if (codec_encode(L, -1, out, &h->step.why) != 0) {
		buf_reset(out);
		buf_adds(out, "\"(not JSON)\"");
	}
	lua_pop(L, 2);
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
	const char *how = NULL, *failed;
	int ans, streak = 0, n;

	answer_spec_read(L, &sp);
	if (sp.def && sp.type != T_DONE && answer_check(L, &sp, sp.def, &h->step.why))
		step_error(L, sp.name, "default is wrong: %s", buf_str(&h->step.why));
	buf_reset(&h->step.output);
	if (sp.def && codec_encode(L, sp.def, &h->step.output, &h->step.why))
		step_error(L, sp.name, "default cannot be recorded: %s", buf_str(&h->step.why));
	s.name = sp.name;
	s.kind = "manual";
	step_begin(L, h, &s, sp.inputs);
	if ((n = replay_step(L, h, &s, &sp)) >= 0 || (n = replay_dry(L, h, &s, &sp)) >= 0)
		return n;
	host_outside(L, "a prompt");
	if (sp.candidate)
		ladder_candidate_run(L, h, &sp, &cand);
	else
		buf_reset(&h->step.errors);
	if (host_interrupted)   /* Ctrl-C in the candidate stops the run, not just the candidate */
		host_raise_interrupt(L, "interrupted at step \"%s\"", sp.name);
	s.started_mono = clock_mono_ms();   /* human time starts when the asking does */

	if (answer_from_flags(L, h, &sp)) {
		how = "flag";
	} else if (ladder_trusted(L, h, &sp, &cand, &streak)) {
		how = "candidate";
	}
	if (!how) {
		if (sp.show && cand.usable) {
			sp.def = cand.value;   /* auto proposes, the person confirms */
			sp.proposed = 1;
		}
		how = prompt_answer(L, h, &sp, s.occurrence);
	}
	ans = lua_gettop(L);

	step_row(h, &s, &row);
	row.how = how;
	if (strcmp(how, "web") == 0 || strcmp(how, "remote") == 0) {
		row.operator = buf_str(&h->step.by);   /* who answered, from elsewhere */
		row.note = h->step.note.len ? host_hide_secrets(L, buf_str(&h->step.note)) : NULL;
	} else if ((strcmp(how, "prompt") == 0 || strcmp(how, "stdin") == 0) && h->step.note.len) {
		row.note = host_hide_secrets(L, buf_str(&h->step.note));   /* "note: TEXT" at the prompt */
	} else {
		/* --note STEP=TEXT: the hidden text stays on the stack while the row is written. */
		if (lua_getfield(L, LUA_REGISTRYINDEX, NOTES) == LUA_TTABLE && lua_getfield(L, -1, sp.name) == LUA_TSTRING)
			row.note = host_hide_secrets(L, lua_tostring(L, -1));
	}
	row.instructions = host_hide_secrets(L, lua_tostring(L, 2));
	if ((failed = answer_failed(L, ans))) {
		/* A person said the step did not get done: recorded failed, and the run fails. */
		if (!*failed && row.note)
			failed = row.note;
		lua_pushfstring(L, "answered fail by %s%s%s", row.operator, *failed ? ": " : "", failed);
		row.status = "failed";
		row.error = host_hide_secrets(L, lua_tostring(L, -1));
		step_commit(L, h, &row);
		remote_wait_end(h, "answered", row.operator, how);
		step_status(h, &row, NULL);
		lua_pushfstring(L, "step \"%s\" failed: %s", sp.name, row.error);
		return host_raise(L, EXIT_FAILED, lua_tostring(L, -1), "");   /* a person's word: no traceback */
	}
	row.secret = sp.secret;
	buf_reset(&h->step.output);
	if (sp.secret) {
		/* Only a keyed hash of a secret is kept, for consistency. */
		unsigned char key[32];
		if (codec_encode(L, ans, &h->step.output, &h->step.why))
			host_fail(L, EXIT_USAGE, "step \"%s\": the answer cannot be recorded: %s", sp.name, buf_str(&h->step.why));
		step_secret_remember(L, h, sp.name, ans);
		if (store_secret_key(h->store, key, STORE_KEY_MAKE))
			host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		sha256_hmac_hex(key, sizeof key, h->step.output.data, h->step.output.len, secret_hash);
		row.secret_hash = secret_hash;
	} else {
		CodecOptions o = { 0 };
		if (step_encode(L, h, ans, &h->step.output, &o))
			host_fail(L, EXIT_USAGE, "step \"%s\": the answer cannot be recorded: %s", sp.name, buf_str(&h->step.why));
		row.output = buf_str(&h->step.output);
		row.replayable = !o.hidden;   /* a secret in it: asked again on resume, never replayed */
	}
	if (sp.candidate) {
		row.candidate_source = cand.source[0] ? cand.source : NULL;
		if (!sp.secret)
			row.candidate_output = h->step.candidate.len ? buf_str(&h->step.candidate) : NULL;
		if (strcmp(how, "default") != 0 && strcmp(how, "candidate") != 0)
			row.candidate_agrees = ladder_candidate_agrees(L, h, &sp, &cand, ans);
		if (host_interrupted)
			host_raise_interrupt(L, "interrupted at step \"%s\"", sp.name);
	}
	row.error = h->step.errors.len ? host_hide_secrets(L, buf_str(&h->step.errors)) : NULL;
	step_commit(L, h, &row);
	remote_wait_end(h, strcmp(how, "default") == 0 ? "default" : "answered", row.operator, how);
	step_status(h, &row, sp.secret ? "(secret)" : row.output);
	if (strcmp(how, "candidate") == 0)
		fprintf(stderr, "  %s answered by the candidate, trusted: the last %d answers by a person agreed with it\n",
		        sp.name, streak);
	else if (row.candidate_agrees == 0)
		fprintf(stderr, "  ! the candidate %s%s%s\n", h->step.errors.len ? "failed: " : "proposed ",
		        h->step.errors.len ? row.error : sp.secret ? "another answer" : buf_str(&h->step.candidate),
		        sp.trust && !h->opt->no_trust ? lua_pushfstring(L, " (toward trust: 0/%d again)", sp.trust) : "");
	else if (row.candidate_agrees == 1 && sp.trust && !h->opt->no_trust) {
		/* The streak as the record has it now, this answer in it: the one rule trust follows. */
		streak = store_candidate_streak(h->store, h->pipeline, sp.name, sp.trust);
		if (streak >= sp.trust)
			fprintf(stderr, "  the candidate agreed (%d/%d): it has earned trust, and answers alone from now on"
			        " (--no-trust asks a person)\n", sp.trust, sp.trust);
		else if (streak >= 0)
			fprintf(stderr, "  the candidate agreed (%d/%d toward trust)\n", streak, sp.trust);
	} else if (row.candidate_agrees == 1) {
		fprintf(stderr, "  the candidate agreed\n");
	}
	lua_pushvalue(L, ans);
	return 1;
}

/*
 * Record in h->step.output the values of an auto step, from base + 1 to the top:
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
	buf_reset(&h->step.output);
	if (nres == 0)
		buf_adds(&h->step.output, "null");
	else
		rc = step_encode(L, h, base + 1, &h->step.output, &o);
	hidden = o.hidden;
	if (rc == 0 && (nres != 1 || o.lossy)) {
		buf_addc(&h->step.output, '\0');   /* output, then results, in one buffer */
		results = h->step.output.len;
		buf_addc(&h->step.output, '[');
		for (int i = 1; i <= nres && rc == 0; i++) {
			CodecOptions exact = { 0 };
			exact.exact = 1;
			if (i > 1)
				buf_addc(&h->step.output, ',');
			rc = step_encode(L, h, base + i, &h->step.output, &exact);
			hidden += exact.hidden;
		}
		buf_addc(&h->step.output, ']');
	}
	if (rc != 0) {
		step_describe_unrecordable(L, h, &h->step.output);
		results = 0;
		row->replayable = 0;
	}
	row->output = buf_str(&h->step.output);
	row->results = results ? h->step.output.data + results : NULL;
	if (hidden)
		row->replayable = 0;
}

/*
 * Is this execution audited? A share of them, drawn by splitmix64 from
 * --seed N (the same executions every time) or else from the clock.
 */
static int audit_drawn(Host *h, double share)
{
	uint64_t x;
	if (!h->audit_draws)
		h->audit_seed = h->opt->seeded ? h->opt->seed : (uint64_t)clock_wall_ms() * 6364136223846793005u ^ (uint64_t)getpid();
	x = h->audit_seed + 0x9E3779B97F4A7C15u * ++h->audit_draws;
	x = (x ^ x >> 30) * 0xBF58476D1CE4E5B9u;
	x = (x ^ x >> 27) * 0x94D049BB133111EBu;
	x ^= x >> 31;
	return (double)(x >> 11) / 9007199254740992.0 < share;
}

/*
 * A person checks the code's answer, the one value at base + 1: kept
 * (Enter or y) or replaced by theirs, which becomes the step's value.
 * The row says how = audit, the code's answer as candidate_output, and
 * whether the person agreed.
 */
static void audit_step(lua_State *L, Host *h, const Step *s, int inputs, int base, StoreStep *row)
{
	Spec sp;
	int t = lua_type(L, base + 1);
	const char *how;
	memset(&sp, 0, sizeof sp);
	sp.name = s->name;
	sp.instructions = "An audit: is the code's answer right?";
	sp.type = t == LUA_TBOOLEAN ? T_BOOLEAN : t == LUA_TNUMBER ? T_NUMBER : t == LUA_TSTRING ? T_STRING : T_JSON;
	sp.def = base + 1;
	sp.inputs = lua_isnil(L, inputs) ? 0 : inputs;
	sp.audit = 1;
	buf_reset(&h->step.candidate);
	buf_adds(&h->step.candidate, row->output);   /* the code's answer, before the person's takes its place */
	how = prompt_answer(L, h, &sp, s->occurrence);
	lua_replace(L, base + 1);
	auto_values(L, h, base, row);
	row->how = "audit";
	row->candidate_output = buf_str(&h->step.candidate);
	row->candidate_agrees = strcmp(row->output, row->candidate_output) == 0;
	if (strcmp(how, "web") == 0 || strcmp(how, "remote") == 0) {
		row->operator = buf_str(&h->step.by);
		row->note = h->step.note.len ? host_hide_secrets(L, buf_str(&h->step.note)) : NULL;
	} else if (h->step.note.len) {
		row->note = host_hide_secrets(L, buf_str(&h->step.note));
	}
	row->duration_ms = clock_mono_ms() - s->started_mono;
}

/* auto(name, fn [, opts]) -> what fn returns */
static int l_auto(lua_State *L)
{
	Host *h = host_get(L);
	Step s;
	StoreStep row;
	lua_Integer retries = 0;
	lua_Number audit = 0;
	Buf *errors = &h->step.errors;
	int ok = 0, base, n, depth, audited = 0;

	s.name = step_name(L);
	s.kind = "auto";
	luaL_checktype(L, 2, LUA_TFUNCTION);
	step_opts_check(L, 3, s.name, step_auto_options);
	lua_settop(L, 3);
	if (lua_istable(L, 3)) {
		lua_getfield(L, 3, "inputs");
		lua_getfield(L, 3, "retries");
		lua_getfield(L, 3, "audit");
		if (!lua_isnil(L, 5)) {
			if (!lua_isinteger(L, 5) || lua_tointeger(L, 5) < 0)
				step_error(L, s.name, "retries must be a whole number >= 0");
			retries = lua_tointeger(L, 5);
		}
		if (!lua_isnil(L, 6)) {
			audit = lua_tonumber(L, 6);
			if (lua_type(L, 6) != LUA_TNUMBER || !(audit > 0 && audit <= 1))
				step_error(L, s.name, "audit must be the share of executions a person checks: above 0, at most 1");
		}
	} else {
		lua_pushnil(L);
		lua_pushnil(L);
		lua_pushnil(L);
	}
	/* 4: inputs, 5: retries, 6: audit */
	step_begin(L, h, &s, 4);
	if ((n = replay_step(L, h, &s, NULL)) >= 0 || (n = replay_dry(L, h, &s, NULL)) >= 0)
		return n;
	buf_reset(errors);
	base = lua_gettop(L);
	depth = progress_step_enter(s.name, 1);
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
	progress_step_leave(depth);
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
	/* An audit: one plain value the record holds, a person who can be asked, and the draw says so. */
	if (ok && audit > 0 && n == 1 && !lua_isnil(L, base + 1) && row.replayable && !row.results &&
	    prompt_person_reachable(h) && audit_drawn(h, audit)) {
		host_outside(L, "an audit");
		audit_step(L, h, &s, 4, base, &row);
		audited = 1;
	}
	/* A step that reached the outside world is committed as it ends: a resume never redoes it. */
	if (audited)
		step_commit(L, h, &row);   /* a person's answer: durable before the script goes on */
	else if (store_step_add(h->store, &row) || (h->outside != s.outside && store_flush(h->store)))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	if (audited)
		remote_wait_end(h, "answered", row.operator, "audit");
	step_status(h, &row, ok ? row.output : NULL);
	if (audited) {
		fprintf(stderr, row.candidate_agrees ? "  the audit agreed with the code\n"
		        : "  ! the audit disagreed: the code answered %s\n", row.candidate_output);
		lua_settop(L, base + 1);   /* the person's answer; the note's text above it goes */
	}
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
	luaL_newmetatable(L, FAIL_MT);
	lua_pop(L, 1);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, OCCURRENCES);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, ANSWERS_USED);
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, REPLAYED);
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
