/* json.c: the json module: canonical encode, decode (jansson), null, array. */
#include "../host/codec.h"
#include "../host/host.h"
#include "stdlib.h"

#include <lauxlib.h>

/* json.encode(v) -> canonical JSON text; raises when JSON cannot hold v. */
static int json_encode(lua_State *L)
{
	Buf b = { 0 }, why = { 0 };
	int rc;
	luaL_checkany(L, 1);
	rc = codec_encode(L, 1, &b, &why);
	if (rc == 0)
		lua_pushlstring(L, buf_str(&b), b.len);
	else
		lua_pushfstring(L, "json.encode: cannot encode %s", buf_str(&why));
	buf_free(&b);
	buf_free(&why);
	return rc == 0 ? 1 : lua_error(L);
}

/* json.decode(text) -> value; raises with the line and column of a mistake. */
static int json_decode(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	Buf err = { 0 };
	if (codec_decode(L, s, n, &err) == 0) {
		buf_free(&err);
		return 1;
	}
	lua_pushfstring(L, "json.decode: %s", buf_str(&err));
	buf_free(&err);
	return lua_error(L);
}

/* json.array([t]) -> t marked to encode as [] even when empty. */
static int json_array(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		lua_newtable(L);
	else
		luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	codec_push_array_mt(L);
	lua_setmetatable(L, 1);
	return 1;
}

static const luaL_Reg json_funcs[] = {
	{ "encode", json_encode },
	{ "decode", json_decode },
	{ "array", json_array },
	{ NULL, NULL },
};

int luaopen_json(lua_State *L)
{
	luaL_newlib(L, json_funcs);
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	return 1;
}
