/*
 * store.h: the one interface to the history. Callers speak in the structs
 * below and never see SQL, a column name or Lua; a backend is a table of
 * functions (StoreMethods), like SQLite's sqlite3_io_methods: SQLite in
 * store_sqlite.c (the embedded default), PostgreSQL in store_pg.c.
 *
 * What is the same for every backend lives in store.c: choosing the
 * backend from the target, the rows waiting for the next commit, when to
 * commit, and what happens after a failed one.
 */
#ifndef UNDERSTUDY_STORE_H
#define UNDERSTUDY_STORE_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define STORE_SCHEMA_VERSION 7

/* A run. On the way in, id is 0 (the store gives one) or kept (copy). */
typedef struct StoreRun {
	int64_t id;
	const char *pipeline;
	const char *script;        /* path as given, or NULL (a REPL session) */
	const char *script_hash;   /* SHA-256 hex of the script text */
	const char *args;          /* JSON array of the script's arguments */
	const char *operator;
	const char *host;
	long pid;
	const char *cwd;           /* the folder the script ran in */
	const char *status;        /* running | ok | failed | interrupted */
	const char *error;
	int64_t resumed_from;      /* 0: none */
	int64_t started_ms;        /* Unix epoch, milliseconds */
	int64_t finished_ms;       /* 0: not finished */
	int64_t steps;             /* out: how many steps it recorded */
	int dry;                   /* a dry run: nothing done, nobody asked; left out of report, resume, doc */
} StoreRun;

/* One execution of a step. */
typedef struct StoreStep {
	int64_t id;                /* in: 0 (the store gives one) or kept (copy) */
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
	int64_t replay_of;         /* the replayed step's id, 0: none */
	const char *operator;
	int64_t started_ms;
	int64_t finished_ms;
	int64_t duration_ms;       /* -1: none */
	const char *note;          /* what the person who answered added, or NULL */
	const char *run_status;    /* out, export only: the run's status */
} StoreStep;

/* A log line of a run, written after step seq. */
typedef struct StoreLog {
	int64_t id;                /* as StoreStep's */
	int64_t run;
	int seq;
	const char *level;
	const char *message;
	int64_t at_ms;
} StoreLog;

/*
 * A manual step waiting for a person, visible to every answerer: the
 * runner's terminal, `understudy answer`, the page. state is waiting until
 * the runner ends it: answered, default (its timeout took the default),
 * or interrupted. A runner beats (beat_ms) while it waits; one that died
 * without ending its waits is told by its pid on its host, or by an old beat.
 */
typedef struct StoreWait {
	int64_t id;                /* in: 0 (the store gives one) */
	int64_t run;
	const char *pipeline, *step;
	int occurrence;
	const char *type;          /* done|string|number|boolean|choice|json */
	const char *instructions;
	const char *inputs;        /* JSON, or NULL */
	const char *choices;       /* JSON array, or NULL */
	const char *default_value; /* JSON, or NULL */
	const char *candidate;     /* the candidate's proposal as JSON, or NULL */
	int secret;
	const char *operator;      /* who started the run */
	const char *host;
	long pid;
	int64_t since_ms, beat_ms;
	const char *state;         /* waiting | answered | default | interrupted */
	const char *answered_by;   /* who answered, when answered */
	const char *how;           /* how: prompt, stdin, web, remote... */
	int64_t ended_ms;          /* 0: still waiting */
} StoreWait;

/* Which waits a query returns, newest first. */
typedef struct StoreWaitFilter {
	int64_t id;                /* 0: any */
	int64_t run;               /* 0: any */
	const char *pipeline;      /* NULL: any */
	const char *step;          /* NULL: any */
	int open;                  /* 1: only those still waiting */
} StoreWaitFilter;

/*
 * An answer offered to a waiting step from elsewhere (`answer`, the page).
 * The runner settles it: taken, refused (with the reason: a wrong answer,
 * or validate said no), or late (another answer came first).
 */
typedef struct StoreOffer {
	int64_t id;                /* in: 0 (the store gives one) */
	int64_t wait;
	const char *value;         /* the answer as text, as typed at a prompt */
	const char *note;
	const char *operator;      /* who answers */
	const char *how;           /* web | remote */
	int64_t at_ms;
	const char *state;         /* offered | taken | refused | late */
	const char *reason;
} StoreOffer;

/* Which steps a query returns. */
typedef struct StoreStepFilter {
	int64_t run;               /* 0: any */
	const char *pipeline;      /* NULL: any */
	const char *name;          /* NULL: any */
	const char *kind;          /* NULL: any; manual | auto */
	int by_id;                 /* order: 1 by id (export, copy), 0 by run then seq */
} StoreStepFilter;

/* The report's numbers for one step: original executions only, not replays. */
typedef struct StoreStepStats {
	const char *pipeline, *step;
	int64_t executions, manual_executions, auto_executions;
	int64_t manual_answers;    /* answered ok by a person, or a flag, or stdin */
	int64_t distinct_outputs;  /* among those answers */
	int64_t input_groups;      /* distinct inputs among those answers */
	int64_t human_ms;          /* only a person's time answering: prompt, web, remote */
	int64_t median_human_ms;   /* of those answers; -1: none */
	int secret;                /* any execution was secret */
	int64_t distinct_secrets;  /* distinct keyed hashes */
	int64_t candidate_runs, candidate_agreed;
	const char *last_kind, *last_how;   /* of the latest execution */
	int64_t advance_answers;   /* answered in advance: --answer, --answers, standard input */
	const char *last_answer, *last_operator, *last_inputs, *candidate_source;   /* of the latest manual one */
} StoreStepStats;

/* An answer people gave for a step and inputs (report's answers: by one operator), how often. */
typedef struct StoreAnswer {
	const char *pipeline, *step, *inputs, *output;
	const char *operator;      /* report's answers only; NULL elsewhere */
	int64_t n;
	int64_t last;              /* answers(): the id of its latest execution; 0 elsewhere */
} StoreAnswer;

/* The latest auto output for some inputs beside what a person answered for them. */
typedef struct StoreCheck {
	const char *pipeline, *step, *inputs, *auto_output, *manual_output;
	int agrees;
} StoreCheck;

/*
 * The callbacks each query calls per row. The row is valid only during
 * the call; a non-zero return stops the query, which returns that value.
 */
typedef int (*StoreRunFn)(void *ud, const StoreRun *run);
typedef int (*StoreStepFn)(void *ud, const StoreStep *step);
typedef int (*StoreLogFn)(void *ud, const StoreLog *log);
typedef int (*StoreNameFn)(void *ud, const char *name);
typedef int (*StoreStatsFn)(void *ud, const StoreStepStats *stats);
typedef int (*StoreAnswerFn)(void *ud, const StoreAnswer *answer);
typedef int (*StoreCheckFn)(void *ud, const StoreCheck *check);
typedef int (*StoreWaitFn)(void *ud, const StoreWait *wait);
typedef int (*StoreOfferFn)(void *ud, const StoreOffer *offer);

/*
 * One step's original auto executions (not replays, not a dry run's) in a
 * batch of rows, for step_totals; the last one by its key (run, seq).
 * People's answers are not counted there: report reads each of them anyway.
 */
typedef struct StoreTotal {
	const char *pipeline, *name;
	int64_t autos, last_run, last_seq;
} StoreTotal;

/*
 * Count rows (n of them) into t, which has room for cap steps (*nt used):
 * returns how many rows were counted, stopping before a row of a step t
 * has no room for (the caller writes t out, then counts on from there).
 */
size_t store_totals_count(const StoreStep *rows, size_t n, StoreTotal *t, size_t cap, size_t *nt);

/*
 * Report's queries mark where the window's condition goes with
 * STORE_WINDOW, a comment: without a window the text runs as it is (and
 * an index that covers the rest can serve it); with one, clause takes
 * its place: sql with clause in out, or sql itself when clause is NULL.
 */
#define STORE_WINDOW "/*window*/"
const char *store_sql_window(const char *sql, const char *clause, Buf *out);

/* The answers a person spent time on, as SQL: human time counts these only. */
#define STORE_PERSON_SQL "how IN ('prompt', 'web', 'remote')"

/* What report reads, one callback per kind of row; NULL callbacks are skipped. */
typedef struct StoreReport {
	StoreStatsFn stats;          /* per step, most human time first */
	StoreAnswerFn conflicts;     /* answers to inputs that got different answers */
	StoreCheckFn checks;         /* auto steps against people */
	StoreStepFn disagreements;   /* per step, the latest candidate disagreement */
	StoreAnswerFn answers;       /* per step, inputs, answer and operator: how often people gave it */
	const char *since;           /* executions started at or after this UTC time (clock_iso); NULL: all */
	void *ud;
} StoreReport;

typedef struct Store Store;

enum { STORE_KEY_MAKE, STORE_KEY_READ, STORE_KEY_PUT };

/*
 * A backend. Every function returns 0 or -1 with the store's error set,
 * unless it says otherwise; the queries return a callback's non-zero
 * value when it stops them.
 */
typedef struct StoreMethods {
	const char *name;          /* "sqlite", "postgresql" */
	/* Open and check the target, migrating an older schema; NULL with why in err. */
	Store *(*open)(const char *target, int create, const volatile sig_atomic_t *stop, Buf *err);
	void (*close)(Store *s);
	/* A new run with its status; its id, 0 on error. */
	int64_t (*run_begin)(Store *s, const StoreRun *run);
	int (*run_finish)(Store *s, int64_t run, const char *status, const char *error, int64_t finished_ms);
	/* Commit rows in one transaction; durable: so that it survives a power loss. */
	int (*write)(Store *s, const StoreStep *steps, size_t nsteps, const StoreLog *logs, size_t nlogs, int durable);
	/*
	 * From another thread while the main one is stuck: on a connection of
	 * its own, commit the rows and mark the run interrupted. It leaves the
	 * store's error alone (the main thread may be writing it).
	 */
	int (*write_aside)(Store *s, const StoreStep *steps, size_t nsteps, const StoreLog *logs, size_t nlogs,
	                   int64_t run, const char *error);
	int (*runs)(Store *s, const char *pipeline, int64_t id, StoreRunFn fn, void *ud);   /* id 0: all, newest first */
	int (*steps)(Store *s, const StoreStepFilter *f, StoreStepFn fn, void *ud);
	int (*logs)(Store *s, int64_t run, StoreLogFn fn, void *ud);   /* run 0: all, by id */
	int (*names)(Store *s, const char *pipeline, StoreNameFn fn, void *ud);   /* pipelines, or one's steps */
	int64_t (*resumed_by)(Store *s, int64_t run);   /* newest run that resumed run, 0 none, -1 error */
	/*
	 * The candidate's agreement (1, 0, -1 none) in the latest executions
	 * a person answered (prompt, stdin, flag), newest first: at most n,
	 * into agrees (room for n), how many in *count.
	 */
	int (*candidate_recent)(Store *s, const char *pipeline, const char *step, int n, int *agrees, int *count);
	int (*report)(Store *s, const char *pipeline, const StoreReport *fns);
	/*
	 * A step's latest n original executions started at or after since
	 * (NULL: any time), newest first; with audits, only the executions of
	 * its code that a person audited (how = "audit").
	 */
	int (*recent)(Store *s, const char *pipeline, const char *step, int audits, const char *since, int n,
	              StoreStepFn fn, void *ud);
	int (*answers)(Store *s, const char *pipeline, const char *step, StoreAnswerFn fn, void *ud);
	/*
	 * The latest execution of a step for these inputs (canonical JSON;
	 * NULL: none) that ended ok with a value: not a replay, not a dry
	 * run's, not secret. fn is called once, or not at all.
	 */
	int (*latest)(Store *s, const char *pipeline, const char *step, const char *inputs, StoreStepFn fn, void *ud);
	/* The history's key for hashing secret answers: 1 with it in key, 0 when there is none yet. */
	int (*key_get)(Store *s, unsigned char key[32]);
	/* Offer key as the history's when it has none: the first offer wins, maybe another runner's. */
	int (*key_offer)(Store *s, const unsigned char key[32]);
	/* A consistent copy to dest while runs go on; NULL when the backend has its own tools. */
	int (*backup)(Store *s, const char *dest);
	/* Is the history empty (no runs)? 1, 0, or -1. */
	int (*empty)(Store *s);
	/*
	 * Let new ids start past the largest ones, and past at_least (run,
	 * step, log; NULL: none): before copying rows with their ids, so that
	 * runners meanwhile take others, and after.
	 */
	int (*ids_sync)(Store *s, const int64_t at_least[3]);
	/* The largest run, step and log ids (0: none), to copy more after them. */
	int (*ids_max)(Store *s, int64_t max[3]);

	/* A step begins waiting for a person, committed at once; its id, 0 on error. */
	int64_t (*wait_begin)(Store *s, const StoreWait *w);
	/*
	 * The runner's word on a wait. state NULL: still waiting, beat at
	 * now_ms. Else the wait ends in state, answered by whom and how,
	 * taking offer (0: none); the offers still waiting become late.
	 */
	int (*wait_end)(Store *s, int64_t wait, const char *state, const char *by, const char *how, int64_t offer,
	                int64_t now_ms);
	int (*waits)(Store *s, const StoreWaitFilter *f, StoreWaitFn fn, void *ud);
	/* Offer an answer: its id, 0 when the wait is not waiting any more, -1 on error. */
	int64_t (*offer)(Store *s, const StoreOffer *o);
	/* A wait's offers still to settle, oldest first (wait 0: the one offer id). */
	int (*offers)(Store *s, int64_t wait, int64_t id, StoreOfferFn fn, void *ud);
	/* The runner refuses an offer, saying why. */
	int (*offer_refuse)(Store *s, int64_t offer, const char *reason);
	/*
	 * A descriptor that turns readable when an answer may have been
	 * offered (PostgreSQL's LISTEN), -1 when there is none: poll the
	 * offers every second then. NULL: never one. wait_drain reads what
	 * made it readable; wait_close lets it go when no step waits any more
	 * (a runner holds a second connection only while it waits).
	 */
	int (*wait_fd)(Store *s);
	void (*wait_drain)(Store *s);
	void (*wait_close)(Store *s);
	/* A setting everyone who uses the history shares (the page's address): 1 with it in out, 0 when unset. */
	int (*setting_get)(Store *s, const char *key, Buf *out);
	int (*setting_put)(Store *s, const char *key, const char *value);
} StoreMethods;

/* The part of a store every backend shares; a backend's struct starts with it. */
struct Store {
	const StoreMethods *m;
	char *where;               /* the history as messages name it: a path, or a URI without password */
	Buf err;
	const volatile sig_atomic_t *stop;   /* non-zero: stop waiting (for a lock, a server) */
	/* Rows waiting for the next commit; strings point into chunks that never move. */
	StoreStep *pending;
	size_t npending, cappending;
	StoreLog *logs;
	size_t nlogs, caplogs;
	int64_t pending_since_ms;
	struct StoreChunk *chunks;
	int lost;                  /* pending rows were dropped: nothing more is written */
	pthread_mutex_t lock;      /* guards the pending rows from the watchdog */
};

/* The backends. */
extern const StoreMethods store_sqlite_methods;
extern const StoreMethods store_pg_methods;

/* Is target a PostgreSQL URI (postgresql://, postgres://, or bare postgresql:)? */
int store_is_pg(const char *target);
/* The target as messages may name it: a PostgreSQL URI without its password and parameters. */
void store_name(const char *target, Buf *out);

/*
 * Open the history at target (a path or a PostgreSQL URI) and check that
 * it is usable. With create (STORE_CREATE), a missing SQLite file is made
 * (0600, its folder 0700); with STORE_IF_THERE, a history that is not
 * there yet gives NULL with err left empty. While another process holds
 * the history, the wait says so after a second and ends when *stop turns
 * non-zero. NULL with why in err.
 */
enum { STORE_MUST_EXIST = 0, STORE_CREATE = 1, STORE_IF_THERE = -1 };
Store *store_open(const char *target, int create, const volatile sig_atomic_t *stop, Buf *err);
void store_close(Store *s);
const char *store_where(Store *s);
const char *store_error(Store *s);
/* Set the error (printf-style); backends call it. */
void store_fail(Store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set up and free the shared part: backends call these in open and close. */
int store_init(Store *s, const StoreMethods *m, const char *where, const volatile sig_atomic_t *stop);
void store_free(Store *s);

/* The writes. A step or log line is copied and committed at the next flush. */
int64_t store_run_begin(Store *s, const StoreRun *run);
int store_run_finish(Store *s, int64_t run, const char *status, const char *error);
int store_step_add(Store *s, const StoreStep *step);
int store_log_add(Store *s, const StoreLog *log);
/*
 * Commit every pending row (durable: to survive a power loss: manual
 * answers). After a failure the pending rows are dropped and nothing more
 * is written, the end of the run included (it shows as abandoned): what
 * was reported lost stays lost, and no run that lost steps ends ok.
 */
int store_flush(Store *s);
int store_flush_durable(Store *s);
/* The watchdog's: commit the pending rows and mark the run interrupted, from another thread. */
int store_mark_interrupted(Store *s, int64_t run, const char *error);

/*
 * The history's key for hashing secret answers, shared by everyone who
 * writes to it. STORE_KEY_MAKE: into key, made on first use; 0.
 * STORE_KEY_READ: 1 with the key, 0 when there is none yet.
 * STORE_KEY_PUT: key becomes the history's unless it has one: 1, or 0
 * when it has another. -1 on error.
 */
int store_secret_key(Store *s, unsigned char key[32], int how);

/*
 * How many of the step's latest executions answered by a person agreed
 * with its candidate, counting back until one did not (at most n): the
 * one rule for trust and for report. -1 on error.
 */
int store_candidate_streak(Store *s, const char *pipeline, const char *step, int n);

#endif
