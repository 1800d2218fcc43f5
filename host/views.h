/* views.h: the record's commands: runs, show, history, report, suggest, export, names, backup, doc. */
#ifndef UNDERSTUDY_VIEWS_H
#define UNDERSTUDY_VIEWS_H

#include "host.h"

/* Open the history (it must exist) and print what the command asks; the exit code. */
int view_command(lua_State *L, const Options *opt);
/*
 * doc SCRIPT|PIPELINE: the pipeline as a runbook (lua/doc.lua), from its
 * source and, when there is one, the history; to stdout or --out FILE.
 */
int doc_command(lua_State *L, const Options *opt);
/* The same on an open history (the REPL's dot-commands). */
int view_print(lua_State *L, Host *h, const Options *opt);
/*
 * Is the run at idx, marked running, really gone? It is abandoned when it
 * ran on this host and its process no longer exists.
 */
int view_run_abandoned(lua_State *L, int run);
/* Show runs whose process died as abandoned: in the list at rows, or the one run at rows (single). */
void view_mark_abandoned(lua_State *L, int rows, int single);

#endif
