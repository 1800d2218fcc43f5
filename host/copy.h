/* copy.h: a whole history from one store to another (SQLite <-> PostgreSQL). */
#ifndef UNDERSTUDY_COPY_H
#define UNDERSTUDY_COPY_H

#include "host.h"

int copy_command(lua_State *L, const Options *opt);

#endif
