/* repl.h: the interactive prompt: Lua with manual() and auto(), recorded as a run. */
#ifndef UNDERSTUDY_REPL_H
#define UNDERSTUDY_REPL_H

#include "host.h"

int repl_command(lua_State *L, const Options *opt);

#endif
