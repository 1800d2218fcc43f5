/* outside.h: io.open, io.popen, os.execute, os.exit... as the host runs them. */
#ifndef UNDERSTUDY_OUTSIDE_H
#define UNDERSTUDY_OUTSIDE_H

#include <lua.h>

void outside_open(lua_State *L);

#endif
