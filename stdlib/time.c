/* time.c: the time module: wall clock, monotonic clock, sleep. */
#include "../host/host.h"
#include "stdlib.h"

#include <errno.h>
#include <lauxlib.h>
#include <time.h>

/* time.now() -> "2026-11-28T00:24:52.123Z", UTC */
static int time_now(lua_State *L)
{
	char out[32];
	clock_iso(clock_wall_ms(), out);
	lua_pushstring(L, out);
	return 1;
}

/* time.clock() -> seconds on a monotonic clock, for measuring */
static int time_clock(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
	return 1;
}

/* time.sleep(seconds): Ctrl-C ends it. */
static int time_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);
	luaL_argcheck(L, s >= 0 && s <= 1e12, 1, "seconds must be from 0 to 1e12");
	if (host_wait(-1, (int64_t)(s * 1000 + 0.5)) < 0)
		host_raise_interrupt(L, "interrupted");
	return 0;
}

static const luaL_Reg time_funcs[] = {
	{ "now", time_now },
	{ "clock", time_clock },
	{ "sleep", time_sleep },
	{ NULL, NULL },
};

int luaopen_time(lua_State *L)
{
	luaL_newlib(L, time_funcs);
	return 1;
}
