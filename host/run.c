/* run.c: the commands that run scripts: run, resume, check. */
#include "run.h"
#include "near.h"
#include "answer.h"
#include "outside.h"
#include "step.h"
#include "child.h"
#include "codec.h"
#include "rows.h"
#include "views.h"
#include "sha256.h"
#include "../stdlib/stdlib.h"

#include <errno.h>
#include <ctype.h>
#include <lauxlib.h>
#include <lualib.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANSWERS_MAX 16777216  /* bytes of an --answers file */

/*
 * Read the script and compile it; pushes the chunk ([-0, +1]) and returns
 * 0, or prints why and returns EXIT_USAGE with nothing pushed. The text's
 * SHA-256 goes to hash when it is not NULL.
 */
int script_load(lua_State *L, const char *path, char hash[65])
{
	FILE *f = fopen(path, "rb");
	Buf text = { 0 };
	char chunk[4096];
	size_t n, skip = 0;
	int rc;
	if (!f) {
		fprintf(stderr, "understudy: cannot read %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&text, chunk, n);
	if (ferror(f)) {
		fprintf(stderr, "understudy: cannot read %s: %s\n", path, strerror(errno));
		fclose(f);
		buf_free(&text);
		return EXIT_USAGE;
	}
	fclose(f);
	if (hash)
		sha256_hex(buf_str(&text), text.len, hash);
	/* A UTF-8 BOM, then a first line starting with # (#!/usr/bin/env understudy), are skipped as lua does. */
	if (text.len >= 3 && memcmp(text.data, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	if (skip < text.len && text.data[skip] == '#')
		while (skip < text.len && text.data[skip] != '\n')
			skip++;
	if (skip < text.len && text.data[skip] == LUA_SIGNATURE[0]) {
		fprintf(stderr, "understudy: %s: a precompiled Lua chunk; understudy runs Lua source only\n", path);
		buf_free(&text);
		return EXIT_USAGE;
	}
	lua_pushfstring(L, "@%s", path);
	rc = luaL_loadbufferx(L, buf_str(&text) + skip, text.len - skip, lua_tostring(L, -1), "t");
	lua_remove(L, -2);
	buf_free(&text);
	if (rc != LUA_OK) {
		fprintf(stderr, "understudy: %s\n", lua_tostring(L, -1));
		lua_pop(L, 1);
		return EXIT_USAGE;
	}
	return 0;
}

/* Is word in the NULL-ended list? */
static int listed(const char *const *list, const char *word)
{
	while (*list && strcmp(*list, word) != 0)
		list++;
	return *list != NULL;
}

/*
 * The option tables written out in the script's manual() and auto()
 * calls (lua/check.lua finds them): an unknown option or type is said as
 * the run would say it. How many were wrong.
 */
static int check_options(lua_State *L, const char *path)
{
	int wrong = 0, top = lua_gettop(L);
	if (host_load_embedded(L, "lua/check.lua") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	lua_getfield(L, -1, "file");
	lua_pushstring(L, path);
	lua_call(L, 1, 1);
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
		const char *call, *step, *key, *value, *near;
		const char *const *known;
		lua_getfield(L, -1, "call");
		lua_getfield(L, -2, "step");
		lua_getfield(L, -3, "key");
		lua_getfield(L, -4, "value");
		lua_getfield(L, -5, "line");
		call = lua_tostring(L, -5), step = lua_tostring(L, -4), key = lua_tostring(L, -3), value = lua_tostring(L, -2);
		known = strcmp(call, "manual") == 0 ? answer_options : step_auto_options;
		if (!listed(known, key)) {
			near = near_word(key, known, -1);
			fprintf(stderr, "%s:%d: step \"%s\": unknown option '%s'%s%s%s\n", path, (int)lua_tointeger(L, -1),
			        step ? step : "?", key, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
			wrong++;
		} else if (known == answer_options && strcmp(key, "type") == 0 && value && !listed(answer_types, value)) {
			near = near_word(value, answer_types, -1);
			fprintf(stderr, "%s:%d: step \"%s\": unknown type '%s'%s%s%s\n", path, (int)lua_tointeger(L, -1),
			        step ? step : "?", value, near ? " (did you mean '" : "", near ? near : "",
			        near ? "'?)" : " (done, string, number, boolean, choice or json)");
			wrong++;
		}
		lua_pop(L, 6);
	}
	lua_settop(L, top);
	return wrong;
}

int check_command(lua_State *L, const Options *opt)
{
	int code = 0;
	for (int i = 0; i < opt->nwords; i++) {
		if (script_load(L, opt->words[i], NULL))
			code = EXIT_USAGE;
		else if ((lua_pop(L, 1), check_options(L, opt->words[i])))
			code = EXIT_USAGE;
	}
	return code;
}

/* STEP=TEXT flags into the table on top, step -> text; a flag without a step raises with bad. */
static void step_pairs(lua_State *L, const char *const *flags, int n, const char *bad)
{
	for (int i = 0; i < n; i++) {
		const char *a = flags[i], *eq = strchr(a, '=');
		if (!eq || eq == a)
			host_fail(L, EXIT_USAGE, bad, a);
		lua_pushlstring(L, a, (size_t)(eq - a));
		lua_pushstring(L, eq + 1);
		lua_settable(L, -3);
	}
}

/* Fill the answers table from --answers FILE, then --answer STEP=VALUE; and the notes. */
void answers_load(lua_State *L, const Options *opt)
{
	lua_newtable(L);
	if (opt->answers_file) {
		FILE *f = fopen(opt->answers_file, "rb");
		Buf text = { 0 }, err = { 0 };
		char chunk[4096];
		size_t n;
		int rc, e;
		if (!f)
			host_fail(L, EXIT_USAGE, "--answers %s: %s", opt->answers_file, strerror(errno));
		while (text.len <= ANSWERS_MAX && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_add(&text, chunk, n);
		e = ferror(f) ? errno : 0;
		fclose(f);
		if (e || text.len > ANSWERS_MAX) {
			buf_free(&text);
			host_fail(L, EXIT_USAGE, "--answers %s: %s", opt->answers_file,
			          e ? strerror(e) : "larger than " STR(ANSWERS_MAX) " bytes; not an answers file");
		}
		rc = codec_decode_unique(L, buf_str(&text), text.len, &err);
		buf_free(&text);
		if (rc) {
			lua_pushfstring(L, "--answers %s: not JSON: %s", opt->answers_file, buf_str(&err));
			buf_free(&err);
			host_fail(L, EXIT_USAGE, "%s", lua_tostring(L, -1));
		}
		buf_free(&err);
		if (!lua_istable(L, -1) || lua_rawlen(L, -1) > 0 || codec_is_array(L, -1))
			host_fail(L, EXIT_USAGE, "--answers %s: expected a JSON object {\"step\": answer}", opt->answers_file);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_settable(L, -5);
		}
		lua_pop(L, 1);
	}
	step_pairs(L, opt->answers, opt->nanswers, "--answer %s: expected STEP=VALUE");
	lua_setfield(L, LUA_REGISTRYINDEX, ANSWERS);
	lua_newtable(L);
	step_pairs(L, opt->notes, opt->nnotes, "--note %s: expected STEP=TEXT");
	lua_setfield(L, LUA_REGISTRYINDEX, NOTES);
}

/* No step of that name asked for an --answer: say so, and which was meant when one is near. */
static void warn_no_step(lua_State *L, const char *name)
{
	const char *asked[256], *near = NULL;
	long n = 0;
	lua_getfield(L, LUA_REGISTRYINDEX, OCCURRENCES);   /* the steps this run called, by name */
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING && n < 256)
			asked[n++] = lua_tostring(L, -1);
	}
	near = near_word(name, asked, n);
	fprintf(stderr, "understudy: warning: no step \"%s\" asked for the answer given%s%s%s\n", name,
	        near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
	lua_pop(L, 1);
}

/* Warn about --answer/--answers entries that no step asked for, or that a replay left unused. */
static void answers_warn_unused(lua_State *L, const Host *h)
{
	lua_getfield(L, LUA_REGISTRYINDEX, ANSWERS);
	lua_getfield(L, LUA_REGISTRYINDEX, ANSWERS_USED);
	lua_getfield(L, LUA_REGISTRYINDEX, REPLAYED);
	lua_pushnil(L);
	while (lua_next(L, -4)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING) {
			const char *name = lua_tostring(L, -1);
			lua_pushvalue(L, -1);
			if (lua_rawget(L, -4) == LUA_TNIL) {
				lua_pushvalue(L, -2);
				if (lua_rawget(L, -4) != LUA_TNIL)
					fprintf(stderr, "understudy: warning: the answer given for \"%s\" was not used: run %lld answered"
					        " it already, and it was replayed; to answer it anew: understudy resume %lld --from '%s'"
					        " --answer '%s=VALUE'\n", name, (long long)h->resumed_from, (long long)h->run, name, name);
				else
					warn_no_step(L, name);
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 3);
}

/* The pipeline name: --name, else the script's file name without .lua. */
static const char *pipeline_name(lua_State *L, const Options *opt, const char *script)
{
	const char *base = strrchr(script, '/');
	size_t n;
	if (opt->name)
		return lua_pushstring(L, opt->name);
	base = base ? base + 1 : script;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".lua") == 0)
		n -= 4;
	return lua_pushlstring(L, base, n);
}

/* The operator: --operator, else $USER, else the account name ([-0, +1]). */
const char *run_operator(lua_State *L, const Options *opt)
{
	const char *user = getenv("USER");
	struct passwd *pw;
	if (opt->operator)
		return lua_pushstring(L, opt->operator);
	if (user && *user)
		return lua_pushstring(L, user);
	pw = getpwuid(getuid());
	return lua_pushstring(L, pw ? pw->pw_name : "unknown");
}

/*
 * Set the global arg as lua.c lays it out, from the table at words
 * ({[0] = script, args...}); push the script's arguments and return
 * how many.
 */
static int script_args(lua_State *L, const Options *opt, int words)
{
	int nargs = (int)lua_rawlen(L, words);
	lua_createtable(L, nargs, 2);
	lua_pushstring(L, opt->progname);
	lua_rawseti(L, -2, -1);
	for (int i = 0; i <= nargs; i++) {
		lua_rawgeti(L, words, i);
		lua_rawseti(L, -2, i);
	}
	lua_setglobal(L, "arg");
	luaL_checkstack(L, nargs, "too many arguments to the script");
	for (int i = 1; i <= nargs; i++)
		lua_rawgeti(L, words, i);
	return nargs;
}

/* The arguments in words as a JSON array, for the record ([-0, +1]). */
static const char *args_json(lua_State *L, int words)
{
	Buf b = { 0 }, why = { 0 };
	int n = (int)lua_rawlen(L, words);
	lua_createtable(L, n, 0);
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, words, i);
		lua_rawseti(L, -2, i);
	}
	if (n == 0) {
		codec_push_array_mt(L);
		lua_setmetatable(L, -2);
	}
	if (codec_encode(L, -1, &b, &why) != 0) {
		buf_reset(&b);
		buf_adds(&b, "null");   /* an argument that is not UTF-8 */
	}
	lua_pop(L, 1);
	lua_pushstring(L, buf_str(&b));
	buf_free(&b);
	buf_free(&why);
	return lua_tostring(L, -1);
}

/* Open the record, or fail with code 3 ([-0, +1]: the path); STORE_IF_THERE: NULL when there is none yet. */
Store *history_open(lua_State *L, Host *h, int create)
{
	Buf err = { 0 };
	const char *path = host_db_path(L, h->opt);
	h->store = store_open(path, create, &host_interrupted, &err);
	if (!h->store && create == STORE_IF_THERE && err.len == 0 && !host_interrupted) {
		buf_free(&err);
		return NULL;
	}
	if (!h->store) {
		lua_pushfstring(L, "history unusable: %s", buf_str(&err));
		buf_free(&err);
		if (host_interrupted) {
			buf_reset(&err);
			store_name(path, &err);
			lua_pushstring(L, buf_str(&err));
			buf_free(&err);
			host_fail(L, host_interrupt_code(), "interrupted while waiting for the history %s", lua_tostring(L, -1));
		}
		host_fail(L, EXIT_HISTORY, "%s", lua_tostring(L, -1));
	}
	buf_free(&err);
	return h->store;
}

/*
 * Begin a run of h->pipeline: the pipeline's globals, the prelude, the run
 * row, the signal handlers. words is the table {[0] = script, args...}.
 * The history is open and the answers are loaded.
 */
void run_begin(lua_State *L, Host *h, int words, const char *hash)
{
	const Options *opt = h->opt;
	char hostname[256] = "", cwd[4096];
	StoreRun info;

	h->operator = run_operator(L, opt);
	h->tty = isatty(STDIN_FILENO);
	stdlib_open(L);
	outside_open(L);
	step_open(L);
	if (host_load_embedded(L, "lua/prelude.lua") != LUA_OK)
		lua_error(L);
	lua_rawgeti(L, words, 0);
	lua_call(L, 1, 0);

	gethostname(hostname, sizeof hostname - 1);
	memset(&info, 0, sizeof info);
	info.pipeline = h->pipeline;
	lua_rawgeti(L, words, 0);
	info.script = hash ? lua_tostring(L, -1) : NULL;
	info.script_hash = hash;
	info.args = args_json(L, words);
	info.operator = h->operator;
	info.host = hostname;
	info.pid = (long)getpid();
	info.cwd = getcwd(cwd, sizeof cwd);
	info.resumed_from = h->resumed_from;
	info.started_ms = clock_wall_ms();
	info.dry = h->opt->dry_run;
	h->run = store_run_begin(h->store, &info);
	if (!h->run && host_interrupted)
		host_fail(L, host_interrupt_code(), "interrupted while waiting for the history %s", store_where(h->store));
	if (!h->run)
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	lua_pop(L, 2);
}

/* The closing line: what the run did, and how to go on when it stopped (a script's misuse: fix it first). */
static void run_summary(Host *h, const char *status, int code)
{
	char human[32];
	if (h->human_ms < 60000)
		snprintf(human, sizeof human, "%.1f s", (double)h->human_ms / 1000);
	else
		snprintf(human, sizeof human, "%.1f min", (double)h->human_ms / 60000);
	char candidate[48] = "";
	if (h->candidate_steps)
		snprintf(candidate, sizeof candidate, ", %d by the candidate", h->candidate_steps);
	if (h->opt->dry_run) {
		/* Nothing was done: nothing to resume either. */
		fprintf(stderr, "understudy: dry run %lld of %s %s%s%s: %d step%s recorded; nothing done,"
		        " nobody asked\n", (long long)h->run, h->pipeline, host_colour(h, status), status, host_colour(h, NULL),
		        h->seq, h->seq == 1 ? "" : "s");
		return;
	}
	fprintf(stderr, "understudy: run %lld of %s %s%s%s: %d step%s, %d by a person%s, %s of human time\n",
	        (long long)h->run, h->pipeline, host_colour(h, status), status, host_colour(h, NULL),
	        h->seq, h->seq == 1 ? "" : "s", h->manual_steps, candidate, human);
	if (strcmp(status, "ok") != 0 && code != EXIT_USAGE)
		fprintf(stderr, "understudy: to go on from where it stopped: understudy resume %lld\n", (long long)h->run);
}

/* Does an error message start with where it happened ("file.lua:12:")? */
static int says_where(const char *msg)
{
	size_t n = strcspn(msg, ":\n");
	if (msg[n] != ':' || n == 0 || !isdigit((unsigned char)msg[n + 1]))
		return 0;
	for (n++; isdigit((unsigned char)msg[n]); n++)
		;
	return msg[n] == ':';
}

/*
 * End the run: status from how the script ended (status of its pcall,
 * error on top when not LUA_OK), recorded; returns the exit code.
 */
static int run_end(lua_State *L, Host *h, int status)
{
	const char *status_word, *error = NULL;
	int code;

	host_watchdog_ending();
	if (status == LUA_OK && !host_interrupted) {
		status_word = "ok";
		code = EXIT_OK;
	} else {
		const char *msg = status == LUA_OK ? "interrupted" : host_error_text(L, -1);
		const char *trace = status == LUA_OK ? NULL : host_error_trace(L, -1);
		code = host_interrupted ? host_interrupt_code() : h->history_lost ? EXIT_HISTORY : host_error_code(L, -1);
		status_word = host_interrupted || code == EXIT_INTERRUPTED ? "interrupted" : "failed";
		if (host_interrupted)
			child_end_every();
		/* A traceback of "": none is wanted; nor after error(msg, 0), a message that says no place. */
		if (code == EXIT_FAILED && !(trace && !*trace) && !(lua_type(L, -1) == LUA_TSTRING && !says_where(msg)))
			lua_pushfstring(L, "%s\n%s", msg, trace ? trace : buf_str(&h->traceback));
		else
			lua_pushstring(L, msg);
		error = host_hide_secrets(L, lua_tostring(L, -1));
		fprintf(stderr, "understudy: %s\n", error);
	}
	answers_warn_unused(L, h);
	if (store_run_finish(h->store, h->run, status_word, error) != 0) {
		fprintf(stderr, "understudy: history unusable: %s\n", store_error(h->store));
		return code ? code : EXIT_HISTORY;
	}
	run_summary(h, status_word, code);
	return code;
}

/* Run the chunk at chunk as a new run with the words at words; the exit code. */
static int launch(lua_State *L, Host *h, int chunk, int words, const char *hash)
{
	int nargs;
	run_begin(L, h, words, hash);
	host_watchdog_start(h->store, h->run);
	lua_pushvalue(L, chunk);
	nargs = script_args(L, h->opt, words);
	int status = host_pcall(L, nargs, 0);
	lua_sethook(L, NULL, 0, 0);   /* a signal after the last instruction: no stray error */
	return run_end(L, h, status);
}

int run_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	const char *script = opt->words[0];
	char hash[65];
	int chunk, words, code;

	if ((code = script_load(L, script, hash)) != 0)
		return code;
	chunk = lua_gettop(L);
	lua_createtable(L, opt->nwords - 1, 1);
	for (int i = 0; i < opt->nwords; i++) {
		lua_pushstring(L, opt->words[i]);
		lua_rawseti(L, -2, i);
	}
	words = lua_gettop(L);
	answers_load(L, opt);
	host_signals_install(L);   /* a wait for the history yields to them */
	history_open(L, h, 1);
	h->pipeline = pipeline_name(L, opt, script);
	return launch(L, h, chunk, words, hash);
}

/*
 * Refuse to resume a run that was resumed already: the resume ran its
 * remaining steps live, and they would run again. Points at the newest
 * run of the chain instead.
 */
static void resume_check_not_resumed(lua_State *L, Host *h, int64_t id)
{
	int64_t by = h->store->m->resumed_by(h->store, id), newest = by, next;
	const char *status;
	if (by == 0)
		return;
	while (newest > 0 && (next = h->store->m->resumed_by(h->store, newest)) > 0)
		newest = next;
	if (by < 0 || newest < 0 || rows_push_run(L, h->store, newest))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	lua_getfield(L, -1, "status");
	status = lua_tostring(L, -1);
	if (status && strcmp(status, "ok") == 0)
		host_fail(L, EXIT_USAGE, "resume: run %I was resumed to the end by run %I; resuming it again would"
		          " run its remaining steps again (add --force to do so)", (lua_Integer)id, (lua_Integer)newest);
	host_fail(L, EXIT_USAGE, "resume: run %I was resumed already; go on with its newest resume: understudy resume %I"
	          " (or add --force to run its remaining steps again)", (lua_Integer)id, (lua_Integer)newest);
}

/* Does the list of step rows at idx hold nothing but replays? */
static int only_replays(lua_State *L, int idx)
{
	int only = 1;
	idx = lua_absindex(L, idx);
	for (lua_Integer i = 1; only && lua_rawgeti(L, idx, i) == LUA_TTABLE; i++) {
		lua_getfield(L, -1, "how");
		only = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "replay") == 0;
		lua_pop(L, 2);
	}
	if (only)
		lua_pop(L, 1);   /* the nil past the end */
	return only;
}

/*
 * Push the steps a resume of the run at idx replays: the run's own; but a
 * resume killed while it was still replaying recorded only some of its
 * replays, and never went live: then what it replayed, the run it resumed,
 * has them all ([-0, +1]).
 */
static void replay_steps(lua_State *L, Host *h, int run)
{
	lua_getfield(L, run, "steps");
	lua_getfield(L, run, "resumed_from");
	while (lua_isinteger(L, -1) && only_replays(L, -2)) {
		int64_t from = lua_tointeger(L, -1);
		lua_pop(L, 2);
		if (rows_push_run(L, h->store, from))
			host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_getfield(L, run, "steps");
			return;
		}
		lua_getfield(L, -1, "steps");
		lua_getfield(L, -2, "resumed_from");
		lua_remove(L, -3);
	}
	lua_pop(L, 1);
}

/*
 * resume --from STEP: the steps on top are replayed only up to STEP's
 * first occurrence; STEP and all after it run live. Raises when the run
 * has no such step, naming those it has.
 */
static void replay_cut(lua_State *L, long long id, const char *step)
{
	int steps = lua_gettop(L), n = (int)lua_rawlen(L, steps), at = 0;
	Buf names = { 0 };
	for (int i = 1; i <= n && !at; i++) {
		lua_rawgeti(L, steps, i);
		lua_getfield(L, -1, "name");
		if (strcmp(lua_tostring(L, -1), step) == 0)
			at = i;
		lua_pop(L, 2);
	}
	if (at) {
		for (int i = at; i <= n; i++) {
			lua_pushnil(L);
			lua_rawseti(L, steps, i);
		}
		return;
	}
	lua_newtable(L);   /* the names said, each once, in the run's order */
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, steps, i);
		lua_getfield(L, -1, "name");
		lua_pushvalue(L, -1);
		if (lua_rawget(L, -4) == LUA_TNIL) {
			buf_addf(&names, "%s\"%s\"", names.len ? ", " : "", lua_tostring(L, -2));
			lua_pushvalue(L, -2);
			lua_pushboolean(L, 1);
			lua_rawset(L, -6);
		}
		lua_pop(L, 3);
	}
	lua_pushstring(L, names.len ? buf_str(&names) : "none");
	buf_free(&names);
	host_fail(L, EXIT_USAGE, "resume: run %I finished no step \"%s\" (it finished: %s)", (lua_Integer)id, step,
	          lua_tostring(L, -1));
}

int resume_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	char hash[65], *end;
	const char *script, *recorded_hash, *cwd;
	long long id = strtoll(opt->words[0], &end, 10);
	int run, given, chunk, words, code;
	Buf err = { 0 };

	if (*end || end == opt->words[0] || id <= 0)
		return host_fail(L, EXIT_USAGE, "resume: RUN must be a run number, not '%s'", opt->words[0]);
	answers_load(L, opt);
	host_signals_install(L);
	history_open(L, h, 1);
	if (rows_push_run(L, h->store, id))
		return host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	if (lua_isnil(L, -1))
		return host_fail(L, EXIT_USAGE, "resume: no run %s in %s", opt->words[0], store_where(h->store));
	run = lua_gettop(L);
	lua_getfield(L, run, "dry");
	if (lua_toboolean(L, -1))
		return host_fail(L, EXIT_USAGE, "resume: run %I was a dry run: nothing was done, so there is nothing to resume;"
		                 " run the script", (lua_Integer)id);
	lua_pop(L, 1);
	lua_getfield(L, run, "status");
	if (strcmp(lua_tostring(L, -1), "ok") == 0)
		return host_fail(L, EXIT_USAGE, "resume: run %I finished ok; there is nothing to resume", (lua_Integer)id);
	if (strcmp(lua_tostring(L, -1), "running") == 0 && !view_run_abandoned(L, run)) {
		lua_getfield(L, run, "pid");
		lua_getfield(L, run, "host");
		return host_fail(L, EXIT_USAGE, "resume: run %I is still running (pid %s on %s)", (lua_Integer)id,
		                 lua_tostring(L, -2), lua_tostring(L, -1));
	}
	lua_pop(L, 1);
	if (!opt->force)
		resume_check_not_resumed(L, h, id);

	/* The script, as the run saw it: a relative path is taken from the run's folder. */
	lua_getfield(L, run, "script");
	lua_getfield(L, run, "cwd");
	script = lua_tostring(L, -2);
	cwd = lua_tostring(L, -1);
	if (!script)
		return host_fail(L, EXIT_USAGE, "resume: run %I was a REPL session without a script; there is nothing to run again",
		                 (lua_Integer)id);
	if (script[0] != '/' && cwd)
		lua_pushfstring(L, "%s/%s", cwd, script);
	else
		lua_pushstring(L, script);
	given = lua_gettop(L);   /* the new run records the path that resolves from anywhere */
	if ((code = script_load(L, lua_tostring(L, given), hash)) != 0)
		return code;
	chunk = lua_gettop(L);

	/* The same arguments: {[0] = script, args...}. */
	lua_getfield(L, run, "args");
	if (!lua_isstring(L, -1) || codec_decode(L, lua_tostring(L, -1), lua_rawlen(L, -1), &err) || !lua_istable(L, -1)) {
		buf_free(&err);
		return host_fail(L, EXIT_USAGE, "resume: run %I's arguments were not recorded", (lua_Integer)id);
	}
	buf_free(&err);
	lua_pushvalue(L, given);
	lua_rawseti(L, -2, 0);
	words = lua_gettop(L);

	lua_getfield(L, run, "script_hash");
	recorded_hash = lua_tostring(L, -1);
	if (!recorded_hash || strcmp(recorded_hash, hash) != 0)
		fprintf(stderr, "understudy: warning: %s changed since run %lld; its steps are replayed while they match\n",
		        script, id);
	replay_steps(L, h, run);
	if (opt->from)
		replay_cut(L, id, opt->from);
	lua_setfield(L, LUA_REGISTRYINDEX, REPLAY);
	h->resumed_from = id;
	lua_getfield(L, run, "pipeline");
	h->pipeline = lua_tostring(L, -1);
	return launch(L, h, chunk, words, hash);
}