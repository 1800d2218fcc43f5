/* host.h: the state one understudy process keeps, and the pieces that share it. */
#ifndef UNDERSTUDY_HOST_H
#define UNDERSTUDY_HOST_H

#include <lua.h>
#include <signal.h>
#include <stdint.h>
#include "buf.h"
#include "clock.h"
#include "store.h"
#include "secret.h"

#define UNDERSTUDY_VERSION "0.1.0"

/* A number macro as a string literal, for messages: STR(200) is "200". */
#define STR(x) STR_(x)
#define STR_(x) #x

/* Exit codes (documented in README and --help). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,        /* the pipeline failed */
	EXIT_USAGE = 2,         /* bad command line, or the script does not compile */
	EXIT_HISTORY = 3,       /* the history database is unusable */
	EXIT_INTERRUPTED = 130,
};

/* What the command line said. */
typedef struct Options {
	const char *command;
	const char *db;
	const char *operator;
	const char *name;
	const char *answers_file;
	const char **answers;      /* STEP=VALUE, in order */
	int nanswers;
	const char **words;        /* after the command */
	int nwords;
	int json;
	int csv;
	int min_runs;              /* 0: the default */
	int no_trust;              /* --no-trust: a person answers every step */
	int force;                 /* --force: resume a run that was resumed already */
	const char *from, *to;     /* copy --from DB --to DB */
	int append;                /* copy --append */
	int wait;                  /* --wait: without a terminal, wait for an answer from elsewhere */
	int quiet, verbose;        /* run, resume: no status lines for auto steps that went well; every one */
	int limit;                 /* runs --limit N; -1: not given */
	int all;                   /* runs --all: REPL sessions that did nothing too */
	const char *note;          /* answer --note TEXT: the last given */
	const char **notes;        /* run, resume: --note STEP=TEXT, in order */
	int nnotes;
	const char *listen, *tokens, *url;   /* serve --listen --tokens --url */
	char since[32];            /* report, suggest --since: the window's start (clock_iso); "": all */
	int dry_run;               /* run --dry-run: nothing done, nobody asked; steps answer from the record */
	const char *out;           /* doc --out FILE */
	int html, dates;           /* doc --html, --dates */
	int seeded;                /* run, resume --seed N given: audits are drawn the same every time */
	uint64_t seed;
	const char *progname;
} Options;

/*
 * The buffers of the step being run, reused by every step: none outlives
 * the step. Each says who writes it.
 */
typedef struct StepBufs {
	Buf inputs;                /* step.c: the step's inputs as JSON */
	Buf output;                /* step.c: its answer or value as JSON (ladder.c compares with it) */
	Buf candidate;             /* ladder.c: the candidate's answer as JSON */
	Buf errors;                /* ladder.c, step.c: what failed beside the step: the candidate, tries */
	Buf why;                   /* whoever called the codec last: why a value cannot be encoded or read */
	Buf reason;                /* answer.c: why an answer is wrong, said at the prompt */
	Buf line;                  /* prompt.c: the answer line typed, and the notify body */
	Buf prompt;                /* prompt.c: the prompt's text */
	Buf by;                    /* remote.c: who answered from elsewhere */
	Buf note;                  /* remote.c: the note that came with the answer */
	Buf status;                /* step.c: the step's status line */
} StepBufs;

/* The host's state, a userdata in the registry (host_get). */
typedef struct Host {
	const Options *opt;
	Store *store;
	int64_t run;               /* the current run, 0 before it begins */
	int64_t resumed_from;      /* the run being resumed, 0 when none */
	int replaying;             /* steps still come from that run's record */
	int replay_next;           /* index of the next recorded step to match */
	const char *pipeline;      /* strings kept alive in the registry */
	const char *operator;
	int seq;
	int tty;                   /* standard input is a terminal */
	int history_lost;          /* a write failed: the run ends with EXIT_HISTORY, whatever caught it */
	int colour;                /* stderr is a terminal and NO_COLOR is not set */
	int manual_steps;          /* answered by a person (a flag, a default) in this run */
	int candidate_steps;       /* answered by a trusted candidate alone */
	int64_t human_ms;          /* their time */
	StepBufs step;             /* the step being run's */
	Buf line;                  /* repl.c: the line being read */
	Buf traceback;             /* host_msgh: the traceback of the last error it handled */
	Secrets secrets;           /* the run's secret answers: never recorded, never printed */
	unsigned outside;          /* counts the times the pipeline reached the outside world */
	int64_t wait;              /* remote.c: the step waiting now, visible elsewhere; 0: none */
	int64_t wait_offer;        /* the offered answer it took */
	int64_t wait_beat_ms, wait_poll_ms;   /* when to beat, to look at offers next (monotonic) */
	struct Editor *editor;     /* prompt.c: the terminal's line editor, made at the first prompt */
	uint64_t audit_seed;       /* step.c: where the audits' draws start (--seed N, else the clock) */
	uint64_t audit_draws;      /* how many were drawn */
} Host;

Host *host_get(lua_State *L);
Host *host_new(lua_State *L, const Options *opt);

/* The escape sequence that colours a status word (NULL: back to plain), or "". */
const char *host_colour(const Host *h, const char *status);

/* Push text with the run's secrets hidden as <secret:NAME>, and return it ([-0, +1]). */
const char *host_hide_secrets(lua_State *L, const char *text);

/* Run the function below nargs arguments with host_msgh; like lua_pcall. */
int host_pcall(lua_State *L, int nargs, int nresults);

/*
 * interrupt.c: Ctrl-C, SIGTERM and SIGHUP raise "interrupted" in Lua.
 * host_interrupted holds the signal (0: none); a second one ends the
 * process at once.
 */
extern volatile sig_atomic_t host_interrupted;
void host_signals_install(lua_State *L);
/* Back to the default handling, before the state is closed. */
void host_signals_release(void);
void host_raise_interrupt(lua_State *L, const char *fmt, ...);
/* The REPL goes on after an interruption: forget it. */
void host_interrupt_forget(lua_State *L);
/* The exit code of the interruption: 128 + the signal, 130 without one (end of input). */
int host_interrupt_code(void);
/* The signals that stop a run: SIGINT, SIGTERM, SIGHUP. */
void host_stop_signals(sigset_t *set);
/*
 * Wait until fd (-1: none) has input, timeout_ms passes (-1: no limit), or
 * a signal interrupts; no signal is missed that came before the wait.
 * 1: ready, 0: time is up, -1: interrupted.
 */
int host_wait(int fd, int64_t timeout_ms);
/* The same with a second descriptor: 2 when only it has input. */
int host_wait2(int fd, int fd2, int64_t timeout_ms);
/* Start the watchdog of a run (run and resume), and tell it the run is ending. */
void host_watchdog_start(Store *store, int64_t run);
void host_watchdog_ending(void);

/* luaL_error, with the run's secrets hidden in the message (commands, URLs). */
int host_error(lua_State *L, const char *fmt, ...);

/*
 * Errors that decide the exit code travel as failure objects: a table
 * {code =, message =, traceback =} that a script which catches one can
 * use as its text: tostring, concatenation and string methods
 * (err:match(...)) see the message. Anything else raised is a failure of
 * the pipeline, code 1.
 */
/* Raise a failure object ([-0, +0], does not return); traceback NULL: the one where it is caught; "": none. */
int host_raise(lua_State *L, int code, const char *message, const char *traceback);
/* Fail with an exit code other than 1 ([-0, +0], does not return). */
int host_fail(lua_State *L, int code, const char *fmt, ...);
/* The error value at idx: its exit code, its text, its traceback (NULL: none kept). */
int host_error_code(lua_State *L, int idx);
const char *host_error_text(lua_State *L, int idx);
const char *host_error_trace(lua_State *L, int idx);

/*
 * The pipeline is about to reach the outside world (a command, a request,
 * a file written, a prompt): every finished step is committed first, and
 * the step running now is committed as soon as it ends, so that no side
 * effect is ever redone by a resume.
 */
void host_outside(lua_State *L, const char *what);

/* Keep a log line with the run, after its latest step (when there is a run). */
void host_log(lua_State *L, const char *level, const char *message);

/* The history path from --db, $UNDERSTUDY_DB or the XDG state folder ([-0, +1]). */
const char *host_db_path(lua_State *L, const Options *opt);
/* $XDG_STATE_HOME/understudy/NAME, or ~/.local/state/understudy/NAME ([-0, +1]). */
const char *host_state_path(lua_State *L, const char *name);

/* The Lua files of lua/, generated into the binary by lua/embed.c. */
typedef struct Embedded {
	const char *name;          /* "lua/prelude.lua" */
	const char *data;
	size_t len;
} Embedded;
extern const Embedded embedded_files[];

/* Let require "understudy.NAME" find embedded lua/NAME.lua. */
void host_preload_embedded(lua_State *L);

/* Load an embedded file by its path, with its real chunk name ([-0, +1]). */
int host_load_embedded(lua_State *L, const char *name);

/* The registry's tables shared by run.c and the steps: --answer values, which were used, a resumed run's steps. */
#define ANSWERS "understudy.answers"
#define ANSWERS_USED "understudy.answers_used"
#define REPLAY "understudy.replay"
#define REPLAYED "understudy.replayed"   /* names of the manual steps replayed */
#define NOTES "understudy.notes"         /* --note STEP=TEXT */

#endif
