/*
 * stdlib.c: opens the modules every pipeline gets, as globals and as
 * require "understudy.NAME". A bare require "NAME" finds the script's own
 * NAME.lua first, and the host's module only when nothing else has one.
 */
#include "stdlib.h"

#include <lauxlib.h>
#include <string.h>

static const luaL_Reg modules[] = {
	{ "json", luaopen_json },
	{ "http", luaopen_http },
	{ "sh", luaopen_sh },
	{ "fs", luaopen_fs },
	{ "time", luaopen_time },
	{ "log", luaopen_log },
	{ NULL, NULL },
};

/* The loader the searcher below gives: the module already open ([-0, +1]). */
static int load_host_module(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, lua_tostring(L, 2));
	return 1;
}

/* The last of package.searchers: require "json" with no json.lua on the path gets ours. */
static int search_host_module(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	for (const luaL_Reg *m = modules; m->name; m++)
		if (strcmp(m->name, name) == 0) {
			lua_pushcfunction(L, load_host_module);
			lua_pushfstring(L, "understudy.%s", name);
			return 2;
		}
	lua_pushfstring(L, "no module '%s' in understudy", name);
	return 1;
}

void stdlib_open(lua_State *L)
{
	for (const luaL_Reg *m = modules; m->name; m++) {
		lua_pushfstring(L, "understudy.%s", m->name);
		luaL_requiref(L, lua_tostring(L, -1), m->func, 0);
		lua_setglobal(L, m->name);
		lua_pop(L, 1);
	}
	lua_getglobal(L, "package");
	if (lua_getfield(L, -1, "searchers") == LUA_TTABLE) {
		lua_pushcfunction(L, search_host_module);
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	}
	lua_pop(L, 2);
}
