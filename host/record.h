/*
 * record.h: the history. Everything that touches SQL is behind this
 * interface, so that a second backend can stand in for SQLite.
 */
#ifndef UNDERSTUDY_RECORD_H
#define UNDERSTUDY_RECORD_H

#include <lua.h>
#include <signal.h>
#include <stdint.h>
#include "buf.h"

typedef struct Record Record;

#define RECORD_SCHEMA_VERSION 2

typedef struct RunInfo {
	const char *pipeline;
	const char *script;        /* path as given */
	const char *script_hash;   /* SHA-256 hex of the script text */
	const char *args;          /* JSON array of the script's arguments */
	const char *operator;
	const char *host;
	long pid;
	const char *cwd;           /* the working directory the script ran in */
	int64_t resumed_from;      /* 0: none */
	int64_t started_ms;        /* Unix epoch, milliseconds */
} RunInfo;

typedef struct StepRow {
	int64_t run;
	const char *pipeline;
	int seq;
	const char *name;
	int occurrence;
	const char *kind;          /* manual | auto */
	const char *how;           /* prompt|flag|stdin|candidate|replay|default|run */
	const char *instructions;
	const char *inputs;        /* canonical JSON, or NULL */
	const char *output;        /* canonical JSON, or NULL (secret, failed) */
	const char *results;       /* every value returned, as a JSON array, when not exactly one; or NULL */
	int replayable;            /* 0: output is only a description */
	const char *status;        /* ok | failed | interrupted */
	const char *error;
	int secret;
	const char *secret_hash;   /* keyed hash of a secret answer, or NULL */
	const char *candidate_output;
	int candidate_agrees;      /* 1, 0, or -1 for none */
	const char *candidate_source;  /* where the candidate is defined: "file.lua:12-15" */
	int64_t replay_of;         /* steps.id of the replayed step, 0: none */
	const char *operator;
	int64_t started_ms;
	int64_t finished_ms;
	int64_t duration_ms;
} StepRow;

/*
 * Open the history at path and check that it is usable: ours (or empty),
 * not from a newer version, writable, and (when small enough to check
 * cheaply) not damaged. With create, a missing file (and its folder) is
 * made, 0600 and 0700. While another process holds the history, the
 * wait says so after a second and ends when *stop turns non-zero.
 * Returns NULL with a message in err.
 */
Record *record_open(const char *path, int create, const volatile sig_atomic_t *stop, Buf *err);
void record_close(Record *r);
const char *record_path(Record *r);

/* Insert a run with status running, committed. Returns its id, 0 on error. */
int64_t record_run_begin(Record *r, const RunInfo *run);

/* Flush pending steps and set the run's final status. 0 or -1. */
int record_run_finish(Record *r, int64_t run, const char *status, const char *error);

/*
 * Add one step. The row is copied; it reaches the database at the next
 * flush, which happens by itself when enough rows or time have gathered.
 * 0 or -1.
 */
int record_step_add(Record *r, const StepRow *row);

/* Add a log line of the run, after step seq; flushed like steps. 0 or -1. */
int record_log_add(Record *r, int64_t run, int seq, const char *level, const char *message, int64_t at_ms);

/*
 * Commit every pending step and log line. 0 or -1; after a failure the
 * pending rows are dropped and nothing more is written, the end of the
 * run included (it shows as abandoned): what was reported lost stays lost,
 * and no run that lost steps ends ok.
 */
int record_flush(Record *r);

/* The same, synchronously: it survives a power loss (manual answers). 0 or -1. */
int record_flush_durable(Record *r);

/*
 * Copy the history to dest as it is now, consistently, while runs may go
 * on writing: SQLite's backup API into a new file that replaces dest only
 * once its integrity is checked; the key for secret answers goes to
 * dest-key beside it. 0 or -1.
 */
int record_backup(Record *r, const char *dest);

/*
 * From another thread, while the main thread is stuck in C code (the
 * watchdog's): on a connection of its own, commit the pending rows and mark
 * the run interrupted. The pending rows stay locked: the caller ends the
 * process. 0 or -1.
 */
int record_mark_interrupted(Record *r, int64_t run, const char *error);

/* The last error, with SQLite's message. */
const char *record_error(Record *r);

/*
 * Queries: each pushes its result ([-0, +1]) as Lua tables keyed by column
 * name (NULL columns absent) and returns 0, or returns -1 with nothing
 * pushed.
 */
int record_query_runs(Record *r, lua_State *L, const char *pipeline);
int record_query_run(Record *r, lua_State *L, int64_t id);          /* nil when absent */
int record_query_history(Record *r, lua_State *L, const char *pipeline, const char *step);

/* The newest run that resumed run, 0 when none, -1 on error. */
int64_t record_run_resumed_by(Record *r, int64_t run);

/*
 * The queries behind report and suggest ([-0, +1] a table, or -1):
 * report:   { steps = {...}, conflicts = {...}, checks = {...} } for one
 *           pipeline or all (see record.c for the columns);
 * answers:  the distinct (inputs, output) pairs people gave for a step.
 */
int record_query_report(Record *r, lua_State *L, const char *pipeline);
int record_query_answers(Record *r, lua_State *L, const char *pipeline, const char *step);

/*
 * How many of the step's latest executions answered by a person agreed
 * with its candidate, counting back until one did not (at most n); -1 on
 * error.
 */
int record_candidate_streak(Record *r, const char *pipeline, const char *step, int n);

/*
 * The history's key for hashing secret answers (HMAC-SHA-256), kept in
 * the file PATH-key (0600) beside it, made on first use: with the
 * database alone, nobody can try guesses against the hashes. 0 or -1.
 */
int record_secret_key(Record *r, unsigned char key[32]);

/* The recorded pipelines' names, or the step names of one ([-0, +1]: rows with name). */
int record_query_names(Record *r, lua_State *L, const char *pipeline);

/*
 * Call the function on top of the stack with each step row of the
 * pipeline (or all), oldest first; pops the function. 0, or -1 when the
 * history fails; an error raised by the function propagates.
 */
int record_each_step(Record *r, lua_State *L, const char *pipeline);

#endif
