/* stdlib.c: opens the modules every pipeline gets, as globals and for require. */
#include "stdlib.h"

#include <lauxlib.h>

void stdlib_open(lua_State *L)
{
	static const luaL_Reg modules[] = {
		{ "json", luaopen_json },
		{ "http", luaopen_http },
		{ "sh", luaopen_sh },
		{ "fs", luaopen_fs },
		{ "time", luaopen_time },
		{ "log", luaopen_log },
		{ NULL, NULL },
	};
	for (const luaL_Reg *m = modules; m->name; m++) {
		luaL_requiref(L, m->name, m->func, 1);
		lua_pop(L, 1);
	}
}
