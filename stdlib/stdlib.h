/* stdlib.h: the modules every pipeline gets as globals (and from require). */
#ifndef UNDERSTUDY_STDLIB_H
#define UNDERSTUDY_STDLIB_H

#include <lua.h>

int luaopen_json(lua_State *L);
int luaopen_sh(lua_State *L);
int luaopen_fs(lua_State *L);
int luaopen_time(lua_State *L);
int luaopen_log(lua_State *L);
int luaopen_http(lua_State *L);

/* http.c: POST a JSON body to url (a step's notify); 0, or -1 with why in err. */
struct Buf;
int notify_post(const char *url, const char *json, struct Buf *err);

/* Open them all as globals and in package.loaded. */
void stdlib_open(lua_State *L);

#endif
