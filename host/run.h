/* run.h: the commands that run scripts (run, resume, check), and what the REPL shares with them. */
#ifndef UNDERSTUDY_RUN_H
#define UNDERSTUDY_RUN_H

#include "host.h"

int run_command(lua_State *L, const Options *opt);
int resume_command(lua_State *L, const Options *opt);
int check_command(lua_State *L, const Options *opt);

/*
 * Read the script and compile it (a BOM and a #! line skipped): pushes the
 * chunk and returns 0, or prints why and returns EXIT_USAGE. The text's
 * SHA-256 goes to hash when it is not NULL.
 */
int script_load(lua_State *L, const char *path, char hash[65]);
/* Fill the registry's ANSWERS table from --answers FILE, then --answer STEP=VALUE. */
void answers_load(lua_State *L, const Options *opt);
/* Open the history, or fail with code 3. */
Store *history_open(lua_State *L, Host *h, int create);
/* Who answers: --operator, else $USER, else the account name ([-0, +1]). */
const char *run_operator(lua_State *L, const Options *opt);
/* Begin a run of h->pipeline: its globals, the prelude, the run's row; words is {[0] = script, args...}. */
void run_begin(lua_State *L, Host *h, int words, const char *hash);

#endif
