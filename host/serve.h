/* serve.h: understudy serve: waiting steps with answer forms, runs, report with charts, and a JSON API. */
#ifndef UNDERSTUDY_SERVE_H
#define UNDERSTUDY_SERVE_H

#include "host.h"

/* serve [--listen ADDR:PORT] [--tokens FILE] [--url BASE]: until Ctrl-C or SIGTERM. */
int serve_command(lua_State *L, const Options *opt);

#endif
