/* views.c: the record's commands: runs, show, history, report, suggest, export, names, backup, waiting. */
#include "views.h"
#include "run.h"
#include "rows.h"
#include "child.h"
#include "near.h"
#include "../stdlib/stdlib.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Is a run marked running really gone? It is abandoned when it ran on
 * this host and its process no longer exists.
 */
int view_run_abandoned(lua_State *L, int run)
{
	char hostname[256] = "";
	int gone = 0;
	gethostname(hostname, sizeof hostname - 1);
	lua_getfield(L, run, "status");
	lua_getfield(L, run, "host");
	lua_getfield(L, run, "pid");
	if (lua_isstring(L, -3) && strcmp(lua_tostring(L, -3), "running") == 0 &&
	    lua_isstring(L, -2) && strcmp(lua_tostring(L, -2), hostname) == 0 && lua_isinteger(L, -1))
		gone = !process_alive((pid_t)lua_tointeger(L, -1));
	lua_pop(L, 3);
	return gone;
}

/* Show runs whose process died as abandoned: in the rows at rows, or the one run at rows. */
void view_mark_abandoned(lua_State *L, int rows, int single)
{
	int n = single ? 1 : (int)lua_rawlen(L, rows);
	for (int i = 1; i <= n; i++) {
		if (single)
			lua_pushvalue(L, rows);
		else
			lua_rawgeti(L, rows, i);
		if (view_run_abandoned(L, lua_gettop(L))) {
			lua_pushliteral(L, "abandoned");
			lua_setfield(L, -2, "status");
		}
		lua_pop(L, 1);
	}
}

/* report, suggest: verdicts from the record, by lua/report.lua. */
static int report_command(lua_State *L, Host *h, const Options *opt)
{
	const char *pipeline = opt->nwords ? opt->words[0] : NULL;
	int min_runs = opt->min_runs ? opt->min_runs : 5;
	int suggest = strcmp(opt->command, "suggest") == 0;

	if (host_load_embedded(L, "lua/report.lua") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	lua_getfield(L, -1, suggest ? "suggest" : "report");
	if (rows_push_report(L, h->store, pipeline, opt->since))
		return host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	lua_getfield(L, -1, "steps");
	if (pipeline && lua_rawlen(L, -1) == 0 && !opt->since[0])   /* a window may hold nothing */
		return host_fail(L, EXIT_USAGE, "%s: no pipeline %s in %s", opt->command, pipeline, store_where(h->store));
	lua_pop(L, 1);
	if (!suggest) {
		lua_pushboolean(L, opt->json);
		lua_pushinteger(L, min_runs);
		lua_call(L, 3, 0);
		return EXIT_OK;
	}
	lua_pushstring(L, pipeline);
	lua_pushstring(L, opt->words[1]);
	lua_pushinteger(L, min_runs);
	lua_call(L, 4, 3);
	if (lua_toboolean(L, -3))
		return EXIT_OK;
	return host_fail(L, (int)lua_tointeger(L, -1), "suggest: %s", lua_tostring(L, -2));
}

/* export: every step row, streamed as JSON lines or CSV. */
static int export_command(lua_State *L, Host *h, const Options *opt)
{
	lua_getfield(L, -1, "export");
	lua_pushboolean(L, opt->csv);
	lua_call(L, 1, 1);
	if (rows_each_step(L, h->store, opt->nwords ? opt->words[0] : NULL))
		return host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	return EXIT_OK;
}

/* The record's commands: open the history (it must exist), then view_print. */
int view_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	luaL_requiref(L, "understudy.json", luaopen_json, 0);
	lua_pop(L, 1);
	history_open(L, h, 0);
	if (strcmp(opt->command, "backup") == 0) {
		if (!h->store->m->backup)
			return host_fail(L, EXIT_USAGE, "backup: %s is a PostgreSQL history: back it up with pg_dump,"
			                 " or copy it to a file with understudy copy --from %s --to FILE",
			                 store_where(h->store), store_where(h->store));
		if (h->store->m->backup(h->store, opt->words[0]))
			return host_fail(L, EXIT_HISTORY, "backup: %s", store_error(h->store));
		return EXIT_OK;
	}
	return view_print(L, h, opt);
}

/* names: one a line. */
static int print_name(void *ud, const char *name)
{
	(void)ud;
	printf("%s\n", name);
	return 0;
}

/* The pipelines' names, collected. */
typedef struct Names {
	lua_State *L;
	int table;                 /* a list of the names, on the stack */
	const char *want;
	int found;
} Names;

static int collect_name(void *ud, const char *name)
{
	Names *n = ud;
	lua_pushstring(n->L, name);
	lua_rawseti(n->L, n->table, (lua_Integer)lua_rawlen(n->L, n->table) + 1);
	n->found |= strcmp(name, n->want) == 0;
	return 0;
}

/* Raise, exit 2, when the history has no pipeline of that name: naming the one meant, or those it has. */
static void pipeline_check(lua_State *L, Host *h, const char *cmd, const char *pipeline)
{
	Names n = { L, 0, pipeline, 0 };
	const char **known;
	const char *near;
	lua_Integer count;
	Buf said = { 0 };
	lua_newtable(L);
	n.table = lua_gettop(L);
	if (h->store->m->names(h->store, NULL, collect_name, &n))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	if (n.found) {
		lua_pop(L, 1);
		return;
	}
	count = (lua_Integer)lua_rawlen(L, n.table);
	known = lua_newuserdatauv(L, (size_t)(count + 1) * sizeof *known, 0);
	for (lua_Integer i = 1; i <= count; i++) {
		lua_rawgeti(L, n.table, i);
		known[i - 1] = lua_tostring(L, -1);   /* the table keeps it */
		lua_pop(L, 1);
	}
	known[count] = NULL;
	if ((near = near_word(pipeline, known, (long)count)))
		buf_addf(&said, "; did you mean %s?", near);
	else if (count == 0)
		buf_adds(&said, "; it has no runs yet");
	else
		for (lua_Integer i = 0; i < count && i < 12; i++)
			buf_addf(&said, "%s%s%s", i ? ", " : "; its pipelines: ", known[i], i == 11 && count > 12 ? ", ..." : "");
	lua_pushstring(L, buf_str(&said));
	buf_free(&said);
	host_fail(L, EXIT_USAGE, "%s: no pipeline %s in %s%s", cmd, pipeline, store_where(h->store), lua_tostring(L, -1));
}

/*
 * The runs on top that runs shows: REPL sessions that recorded no step
 * only with --all; the newest --limit N (0: all; by default 20 on a
 * terminal, all elsewhere). Returns how many of the rest were left out.
 */
static int runs_keep(lua_State *L, const Options *opt)
{
	int rows = lua_gettop(L), n = (int)lua_rawlen(L, rows), kept = 0, over = 0;
	int limit = opt->limit >= 0 ? opt->limit : isatty(STDOUT_FILENO) && !opt->json ? 20 : 0;
	lua_createtable(L, n, 0);
	for (int i = 1; i <= n; i++) {
		int idle;
		lua_rawgeti(L, rows, i);
		lua_getfield(L, -1, "script");
		lua_getfield(L, -2, "steps");
		idle = lua_isnil(L, -2) && lua_tointeger(L, -1) == 0;   /* a REPL session that did nothing */
		lua_pop(L, 2);
		if ((idle && !opt->all) || (limit && kept == limit)) {
			over += !idle || opt->all;
			lua_pop(L, 1);
			continue;
		}
		lua_rawseti(L, -2, ++kept);
	}
	lua_replace(L, rows);
	return over;
}

/* Tables and text fit the terminal's width: format.width for lua/format.lua, when stdout is one. */
static void width_set(lua_State *L)
{
	struct winsize ws;
	lua_getglobal(L, "require");
	lua_pushliteral(L, "understudy.format");
	lua_call(L, 1, 1);
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		lua_pushinteger(L, ws.ws_col);
	else
		lua_pushnil(L);
	lua_setfield(L, -2, "width");
	lua_pop(L, 1);
}

/* runs, show, history, report, suggest, export, waiting: query the record and print it. */
int view_print(lua_State *L, Host *h, const Options *opt)
{
	const char *cmd = opt->command;
	int rc, hidden = 0;

	width_set(L);
	if (opt->nwords && strcmp(cmd, "show") != 0 && strcmp(cmd, "backup") != 0)
		pipeline_check(L, h, cmd, opt->words[0]);   /* the first word names a pipeline */

	if (strcmp(cmd, "report") == 0 || strcmp(cmd, "suggest") == 0)
		return report_command(L, h, opt);
	if (strcmp(cmd, "names") == 0) {
		if (h->store->m->names(h->store, opt->nwords ? opt->words[0] : NULL, print_name, NULL))
			return host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		return EXIT_OK;
	}
	if (host_load_embedded(L, "lua/views.lua") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	if (strcmp(cmd, "export") == 0)
		return export_command(L, h, opt);
	lua_getfield(L, -1, cmd);

	if (strcmp(cmd, "waiting") == 0) {
		rc = rows_push_waiting(L, h->store, opt->nwords ? opt->words[0] : NULL, 0);
	} else if (strcmp(cmd, "runs") == 0) {
		rc = rows_push_runs(L, h->store, opt->nwords ? opt->words[0] : NULL);
		if (rc == 0) {
			view_mark_abandoned(L, lua_gettop(L), 0);
			hidden = runs_keep(L, opt);
		}
	} else if (strcmp(cmd, "show") == 0) {
		char *end;
		long long id = strtoll(opt->words[0], &end, 10);
		if (*end || end == opt->words[0] || id <= 0)
			return host_fail(L, EXIT_USAGE, "show: RUN must be a run number, not '%s'", opt->words[0]);
		rc = rows_push_run(L, h->store, id);
		if (rc == 0 && lua_isnil(L, -1))
			return host_fail(L, EXIT_USAGE, "show: no run %s in %s", opt->words[0], store_where(h->store));
		if (rc == 0)
			view_mark_abandoned(L, lua_gettop(L), 1);
	} else {
		const char *step = opt->nwords > 1 ? opt->words[1] : NULL;
		rc = rows_push_history(L, h->store, opt->words[0], step);
		if (rc == 0 && lua_rawlen(L, -1) == 0) {
			if (step)
				return host_fail(L, EXIT_USAGE, "history: no step \"%s\" recorded in pipeline %s", step, opt->words[0]);
			return host_fail(L, EXIT_USAGE, "history: no pipeline %s in %s", opt->words[0], store_where(h->store));
		}
	}
	if (rc)
		return host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	lua_pushboolean(L, opt->json);
	lua_call(L, 2, 0);
	if (hidden > 0)
		fprintf(stderr, "(%d older run%s not shown: --limit N shows N, --limit 0 all)\n", hidden, hidden == 1 ? "" : "s");
	return EXIT_OK;
}

/*
 * Push the history doc reads ([-0, +1]): { runs (newest first), latest
 * (the latest complete run, with its steps), report, manual (every
 * manual execution), script (the latest complete run's, from its folder) }.
 */
static void doc_history(lua_State *L, Host *h, const char *pipeline)
{
	int hist, runs;
	lua_Integer latest = 0;
	lua_newtable(L);
	hist = lua_gettop(L);
	if (rows_push_runs(L, h->store, pipeline))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	runs = lua_gettop(L);
	for (lua_Integer i = 1; !latest && lua_rawgeti(L, runs, i) == LUA_TTABLE; i++) {
		int run = lua_gettop(L);
		lua_getfield(L, run, "status");
		lua_getfield(L, run, "dry");
		if (strcmp(lua_tostring(L, -2), "ok") == 0 && !lua_toboolean(L, -1)) {
			lua_getfield(L, run, "id");
			latest = lua_tointeger(L, -1);
			lua_getfield(L, run, "script");
			lua_getfield(L, run, "cwd");
			if (lua_isstring(L, -2) && lua_tostring(L, -2)[0] != '/' && lua_isstring(L, -1))
				lua_pushfstring(L, "%s/%s", lua_tostring(L, -1), lua_tostring(L, -2));
			else
				lua_pushvalue(L, -2);
			lua_setfield(L, hist, "script");
		}
		lua_settop(L, run - 1);
	}
	lua_settop(L, runs);
	lua_setfield(L, hist, "runs");
	if (latest) {
		if (rows_push_run(L, h->store, latest))
			host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
		lua_setfield(L, hist, "latest");
	}
	if (rows_push_report(L, h->store, pipeline, NULL) || rows_push_steps(L, h->store, pipeline, NULL, "manual"))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	lua_setfield(L, hist, "manual");
	lua_setfield(L, hist, "report");
}

int doc_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	const char *target = opt->words[0], *path, *text;
	struct stat st;
	int is_script = stat(target, &st) == 0 && S_ISREG(st.st_mode), args;
	size_t n;

	luaL_requiref(L, "understudy.json", luaopen_json, 0);
	lua_pop(L, 1);
	width_set(L);
	lua_getglobal(L, "require");
	lua_pushliteral(L, "understudy.doc");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "text");
	lua_createtable(L, 0, 8);
	args = lua_gettop(L);
	if (is_script) {
		const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
		size_t len = strlen(base);
		if (opt->name)
			lua_pushstring(L, opt->name);
		else
			lua_pushlstring(L, base, len > 4 && strcmp(base + len - 4, ".lua") == 0 ? len - 4 : len);
		lua_setfield(L, args, "pipeline");
		lua_pushstring(L, target);
		lua_setfield(L, args, "script");
	}
	/* The history is read when there is one: a pipeline never run is documented from its source alone. */
	path = host_db_path(L, opt);
	if (history_open(L, h, STORE_IF_THERE)) {
		lua_pop(L, 1);
		if (!is_script)
			pipeline_check(L, h, "doc", target);
		lua_getfield(L, args, "pipeline");
		doc_history(L, h, lua_isstring(L, -1) ? lua_tostring(L, -1) : target);
		/* A pipeline's script: the one its latest complete run ran, when it is still there. */
		if (!is_script && lua_getfield(L, -1, "script") == LUA_TSTRING && access(lua_tostring(L, -1), R_OK) == 0)
			lua_setfield(L, args, "script");
		lua_settop(L, args + 3);   /* path, pipeline, the history */
		lua_setfield(L, args, "history");
		lua_pop(L, 1);
	} else if (!is_script) {
		return host_fail(L, EXIT_USAGE, "doc: %s is not a script, and there is no history at %s to find a pipeline in",
		                 target, path);
	}
	if (!is_script) {
		lua_pushstring(L, target);
		lua_setfield(L, args, "pipeline");
	}
	lua_pushboolean(L, opt->html);
	lua_setfield(L, args, "html");
	lua_pushboolean(L, opt->dates);
	lua_setfield(L, args, "dates");
	lua_pushinteger(L, opt->min_runs ? opt->min_runs : 5);
	lua_setfield(L, args, "min_runs");
	lua_settop(L, args);
	lua_call(L, 1, 1);
	text = lua_tolstring(L, -1, &n);
	if (!opt->out) {
		fwrite(text, 1, n, stdout);
		return EXIT_OK;
	}
	FILE *f = fopen(opt->out, "w");
	int failed = !f || fwrite(text, 1, n, f) != n;
	if ((f && fclose(f) != 0) || failed)
		return host_fail(L, EXIT_FAILED, "doc: cannot write %s: %s", opt->out, strerror(errno));
	return EXIT_OK;
}
