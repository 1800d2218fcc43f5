/* host.c: the host's state in the registry, protected calls, exit codes, paths. */
#include "host.h"
#include "clock.h"
#include "remote.h"
#include "prompt.h"

#include <lauxlib.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HOST_KEY = 'h';   /* its address keys the Host in the registry */
#define HOST_MT "understudy.host"
#define FAILURE_MT "understudy.failure"


Host *host_get(lua_State *L)
{
	Host *h;
	lua_rawgetp(L, LUA_REGISTRYINDEX, &HOST_KEY);
	h = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return h;
}

/* __gc of the Host: close the history, free the buffers. */
static int host_gc(lua_State *L)
{
	Host *h = luaL_checkudata(L, 1, HOST_MT);
	Buf *bufs[] = { &h->step.inputs, &h->step.output, &h->step.candidate, &h->step.errors, &h->step.why,
	                &h->step.reason, &h->step.line, &h->step.prompt, &h->step.by, &h->step.note, &h->step.status,
	                &h->line, &h->traceback };
	if (h->store)
		remote_wait_end(h, "interrupted", NULL, NULL);   /* a step that waited when the run stopped */
	store_close(h->store);
	h->store = NULL;
	prompt_free(h);
	secrets_free(&h->secrets);
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		buf_free(bufs[i]);
	return 0;
}

Host *host_new(lua_State *L, const Options *opt)
{
	Host *h = lua_newuserdatauv(L, sizeof *h, 0);
	memset(h, 0, sizeof *h);
	h->opt = opt;
	h->colour = isatty(STDERR_FILENO) && !getenv("NO_COLOR");
	luaL_newmetatable(L, HOST_MT);
	lua_pushcfunction(L, host_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &HOST_KEY);
	return h;
}

const char *host_colour(const Host *h, const char *status)
{
	if (!h->colour)
		return "";
	if (!status)
		return "\033[0m";
	if (strcmp(status, "ok") == 0)
		return "\033[32m";
	if (strcmp(status, "failed") == 0)
		return "\033[31m";
	return "\033[33m";
}

const char *host_hide_secrets(lua_State *L, const char *text)
{
	Host *h = host_get(L);
	Buf b = { 0 };
	if (!h || !h->secrets.n || !secrets_hide(&h->secrets, text, strlen(text), &b)) {
		buf_free(&b);
		return lua_pushstring(L, text);
	}
	lua_pushlstring(L, buf_str(&b), b.len);
	buf_free(&b);
	return lua_tostring(L, -1);
}

/* Is the value at idx a failure object? */
static int is_failure(lua_State *L, int idx)
{
	int yes = 0;
	idx = lua_absindex(L, idx);
	if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
		luaL_getmetatable(L, FAILURE_MT);
		yes = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	return yes;
}

/* Message handler: the error as a string (a failure object stays one); its traceback kept in the Host. */
static int host_msgh(lua_State *L)
{
	Host *h = host_get(L);
	const char *msg = lua_tostring(L, 1);
	if (!msg && is_failure(L, 1)) {
		luaL_traceback(L, L, NULL, 1);
		buf_reset(&h->traceback);
		buf_adds(&h->traceback, lua_tostring(L, -1));
		lua_settop(L, 1);
		return 1;
	}
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, NULL, 1);
	buf_reset(&h->traceback);
	buf_adds(&h->traceback, lua_tostring(L, -1));
	lua_pop(L, 1);
	lua_pushstring(L, msg);
	return 1;
}

int host_pcall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs;
	int status;
	lua_pushcfunction(L, host_msgh);
	lua_insert(L, base);
	status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	return status;
}

int host_error(lua_State *L, const char *fmt, ...)
{
	va_list ap;
	luaL_where(L, 1);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	host_hide_secrets(L, lua_tostring(L, -1));
	return lua_error(L);
}

/* __tostring of a failure object: its message. */
static int failure_tostring(lua_State *L)
{
	lua_getfield(L, 1, "message");
	return 1;
}

/* __concat: a failure object joins text as its message does ("caught: " .. err). */
static int failure_concat(lua_State *L)
{
	luaL_tolstring(L, 1, NULL);
	luaL_tolstring(L, 2, NULL);
	lua_concat(L, 2);
	return 1;
}

/* A string method called on a failure object works on its message: err:match(...). */
static int failure_method(lua_State *L)
{
	luaL_tolstring(L, 1, NULL);
	lua_replace(L, 1);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* __index: the string library's functions, taking the message as self. */
static int failure_index(lua_State *L)
{
	lua_getglobal(L, "string");
	if (lua_istable(L, -1) && lua_getfield(L, -1, luaL_checkstring(L, 2)) == LUA_TFUNCTION) {
		lua_pushcclosure(L, failure_method, 1);
		return 1;
	}
	lua_pushnil(L);
	return 1;
}

int host_raise(lua_State *L, int code, const char *message, const char *traceback)
{
	Host *h = host_get(L);
	if (h && code == EXIT_HISTORY)
		h->history_lost = 1;
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, code);
	lua_setfield(L, -2, "code");
	lua_pushstring(L, message);
	lua_setfield(L, -2, "message");
	if (traceback) {
		lua_pushstring(L, traceback);
		lua_setfield(L, -2, "traceback");
	}
	if (luaL_newmetatable(L, FAILURE_MT)) {
		static const luaL_Reg meta[] = {
			{ "__tostring", failure_tostring }, { "__concat", failure_concat }, { "__index", failure_index },
			{ NULL, NULL },
		};
		luaL_setfuncs(L, meta, 0);
	}
	lua_setmetatable(L, -2);
	return lua_error(L);
}

int host_fail(lua_State *L, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	return host_raise(L, code, lua_tostring(L, -1), NULL);
}

/* Field k of the failure object at idx: a string kept alive by the object, or NULL ([-0, +0]). */
static const char *failure_field(lua_State *L, int idx, const char *k)
{
	const char *s = NULL;
	if (!is_failure(L, idx))
		return NULL;
	if (lua_getfield(L, idx, k) == LUA_TSTRING)   /* the object keeps a string alive, not a number made one */
		s = lua_tostring(L, -1);
	lua_pop(L, 1);
	return s;
}

int host_error_code(lua_State *L, int idx)
{
	lua_Integer code = EXIT_FAILED;
	idx = lua_absindex(L, idx);
	if (is_failure(L, idx)) {
		lua_getfield(L, idx, "code");
		code = lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	return (int)code;
}

const char *host_error_text(lua_State *L, int idx)
{
	const char *s;
	idx = lua_absindex(L, idx);
	if ((s = failure_field(L, idx, "message")))
		return s;
	return lua_tostring(L, idx) ? lua_tostring(L, idx) : "(error object is not a string)";
}

const char *host_error_trace(lua_State *L, int idx)
{
	return failure_field(L, lua_absindex(L, idx), "traceback");
}

void host_outside(lua_State *L, const char *what)
{
	Host *h = host_get(L);
	if (!h)
		return;
	if (h->opt && h->opt->dry_run) {
		/* Where the script asked for it: the first frame with a line. */
		lua_Debug ar;
		int level = 1;
		while (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline <= 0)
			level++;
		luaL_where(L, level);
		lua_pushfstring(L, "%s: not in a dry run (it would reach the outside world)", what);
		lua_concat(L, 2);
		lua_error(L);
	}
	h->outside++;
	if (h->store && store_flush(h->store))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
}

void host_log(lua_State *L, const char *level, const char *message)
{
	Host *h = host_get(L);
	if (!h || !h->store || !h->run)
		return;
	StoreLog line = { .run = h->run, .seq = h->seq, .level = level, .message = message, .at_ms = clock_wall_ms() };
	if (store_log_add(h->store, &line) != 0)
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
}


/* Push the path of NAME in understudy's state folder ([-0, +1]) and return it. */
const char *host_state_path(lua_State *L, const char *name)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state && *state == '/')
		return lua_pushfstring(L, "%s/understudy/%s", state, name);
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return lua_pushfstring(L, "%s/.local/state/understudy/%s", home, name);
}

/* Push the history's path ([-0, +1]) and return it. */
const char *host_db_path(lua_State *L, const Options *opt)
{
	const char *env = getenv("UNDERSTUDY_DB");
	if (opt->db)
		return lua_pushstring(L, opt->db);
	if (env && *env)
		return lua_pushstring(L, env);
	return host_state_path(L, "history.db");
}

/* require "understudy.NAME" loads embedded lua/NAME.lua. */
static int embedded_loader(lua_State *L)
{
	const char *path = lua_tostring(L, lua_upvalueindex(1));
	if (host_load_embedded(L, path) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	return 1;
}

void host_preload_embedded(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (const Embedded *e = embedded_files; e->name; e++) {
		const char *base = strrchr(e->name, '/');
		size_t n = strlen(base + 1) - 4;   /* without .lua */
		lua_pushfstring(L, "understudy.%s", base + 1);
		lua_pushlstring(L, lua_tostring(L, -1), strlen("understudy.") + n);
		lua_remove(L, -2);
		lua_pushstring(L, e->name);
		lua_pushcclosure(L, embedded_loader, 1);
		lua_setfield(L, -3, lua_tostring(L, -2));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

int host_load_embedded(lua_State *L, const char *name)
{
	for (const Embedded *e = embedded_files; e->name; e++) {
		if (strcmp(e->name, name) == 0) {
			lua_pushfstring(L, "@%s", e->name);
			int rc = luaL_loadbufferx(L, e->data, e->len, lua_tostring(L, -1), "t");
			lua_remove(L, -2);
			return rc;
		}
	}
	lua_pushfstring(L, "no embedded file %s", name);
	return LUA_ERRFILE;
}
