/* host.c: the host's state in the registry, protected calls, exit codes, paths. */
#include "host.h"

#include <lauxlib.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char HOST_KEY = 'h';   /* its address keys the Host in the registry */
#define HOST_MT "understudy.host"


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
	Buf *bufs[] = { &h->inputs, &h->output, &h->candidate, &h->why, &h->line, &h->prompt, &h->reason,
	                &h->errors, &h->traceback, &h->failure, &h->failure_trace, &h->exit_message };
	record_close(h->rec);
	h->rec = NULL;
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

/* Message handler: the error as a string; its traceback kept in the Host. */
static int host_msgh(lua_State *L)
{
	Host *h = host_get(L);
	const char *msg = lua_tostring(L, 1);
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

int host_fail(lua_State *L, int code, const char *fmt, ...)
{
	va_list ap;
	Host *h = host_get(L);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	h->exit_code = code;
	buf_reset(&h->exit_message);
	buf_adds(&h->exit_message, lua_tostring(L, -1));
	return lua_error(L);
}

void host_outside(lua_State *L)
{
	Host *h = host_get(L);
	if (!h)
		return;
	h->outside++;
	if (h->rec && record_flush(h->rec))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", record_error(h->rec));
}

int host_exit_code(Host *h, const char *message)
{
	if (h->exit_code && message && strcmp(message, buf_str(&h->exit_message)) == 0)
		return h->exit_code;
	return EXIT_FAILED;
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
