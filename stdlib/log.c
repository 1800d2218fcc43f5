/* log.c: the log module: lines on stderr, kept with the run in the record. */
#include "../host/host.h"
#include "stdlib.h"

#include <lauxlib.h>
#include <stdio.h>

/* log.LEVEL(...): the arguments, as print writes them, joined by spaces. */
static int log_write(lua_State *L)
{
	const char *level = lua_tostring(L, lua_upvalueindex(1));
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	host_hide_secrets(L, lua_tostring(L, -1));   /* a secret never reaches the log */
	fprintf(stderr, "[%s] %s\n", level, lua_tostring(L, -1));
	host_log(L, level, lua_tostring(L, -1));
	return 0;
}

int luaopen_log(lua_State *L)
{
	static const char *const levels[] = { "info", "warn", "error", NULL };
	lua_createtable(L, 0, 3);
	for (int i = 0; levels[i]; i++) {
		lua_pushstring(L, levels[i]);
		lua_pushcclosure(L, log_write, 1);
		lua_setfield(L, -2, levels[i]);
	}
	return 1;
}
