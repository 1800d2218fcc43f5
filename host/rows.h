/*
 * rows.h: the history's rows as Lua tables, for the views, report and
 * resume. The one place where a stored value becomes a Lua value: times
 * become ISO-8601 text, flags real booleans, absent values nil.
 */
#ifndef UNDERSTUDY_ROWS_H
#define UNDERSTUDY_ROWS_H

#include <lua.h>
#include <stdint.h>
#include "store.h"

/*
 * Each pushes its result ([-0, +1]) and returns 0, or returns -1 with
 * nothing pushed and the store's error set.
 */
int rows_push_runs(lua_State *L, Store *s, const char *pipeline);   /* newest first */
int rows_push_run(lua_State *L, Store *s, int64_t id);   /* with its steps and logs; nil when absent */
/* The steps waiting for a person now (run 0: in any run), newest first; their runners alive. */
int rows_push_waiting(lua_State *L, Store *s, const char *pipeline, int64_t run);
int rows_push_history(lua_State *L, Store *s, const char *pipeline, const char *step);
/* The same, of one kind of step (NULL: any). */
int rows_push_steps(lua_State *L, Store *s, const char *pipeline, const char *step, const char *kind);
/*
 * report: { steps = {...}, conflicts = {...}, checks = {...},
 * disagreements = {...}, answers = {...} } over what started at or after
 * since (NULL or "": all), each step with its candidate's streak, and a
 * step both people and code answered with recent_auto of recent_n.
 */
int rows_push_report(lua_State *L, Store *s, const char *pipeline, const char *since);
/* The distinct (inputs, output) pairs people gave for a step, with n. */
int rows_push_answers(lua_State *L, Store *s, const char *pipeline, const char *step);

/*
 * Call the function on top of the stack with each step of the pipeline
 * (or all), oldest first; pops the function. 0, or -1 when the history
 * fails; an error raised by the function propagates once the store is
 * done with the query.
 */
int rows_each_step(lua_State *L, Store *s, const char *pipeline);

#endif
