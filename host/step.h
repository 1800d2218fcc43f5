/*
 * step.h: what manual() and auto() (step.c) share with the modules they
 * use: answer.c types answers, prompt.c asks people, ladder.c runs the
 * candidate, replay.c replays a resumed run's steps.
 */
#ifndef UNDERSTUDY_STEP_H
#define UNDERSTUDY_STEP_H

#include "host.h"
#include "codec.h"

/* The registry's tables of the steps: occurrences per name, --answer values, a resumed run's steps. */
#define OCCURRENCES "understudy.occurrences"

/* A manual step's answer types, as manual()'s type option names them. */
enum { T_DONE, T_STRING, T_NUMBER, T_BOOLEAN, T_CHOICE, T_JSON };

/* A manual step's options, as absolute stack indices (0: absent). */
typedef struct Spec {
	const char *name;
	const char *instructions;  /* what the person is shown */
	int type;
	int def, choices, validate, inputs, candidate, compare;
	int nchoices;
	int secret, show;
	int proposed;              /* the default is the candidate's proposal (show) */
	int trust;                 /* 0: never answers alone */
	int timeout_ms;            /* 0: wait for ever */
	const char *notify;        /* URL, or NULL */
	int audit;                 /* a person checks the code's answer (def): y keeps it */
} Spec;

/* What both kinds of step share while they run. */
typedef struct Step {
	const char *name;
	const char *kind;
	int occurrence;
	int64_t started_wall, started_mono;
	unsigned outside;          /* h->outside when it began: it reached the outside world if that changed */
} Step;

/* auto()'s options, ending with NULL. */
extern const char *const step_auto_options[];

/* Register manual() and auto(), and the registry tables they use. */
void step_open(lua_State *L);

/* Raise a misuse error naming the step and where the script called it. */
int step_error(lua_State *L, const char *name, const char *fmt, ...);
/* Raise when the options table at idx has a key not in known. */
void step_opts_check(lua_State *L, int idx, const char *name, const char *const known[]);
/* The step's name, argument 1, checked. */
const char *step_name(lua_State *L);
/* Encode the value at idx for the record, the run's secrets hidden; 0, or -1 with why in h->why. */
int step_encode(lua_State *L, Host *h, int idx, Buf *out, CodecOptions *o);
/* Remember the value at idx as a secret of step name. */
void step_secret_remember(lua_State *L, Host *h, const char *name, int idx);
/* Fill a row with what every step records. */
void step_row(Host *h, const Step *s, StoreStep *row);
/* Print the step's status line on stderr. */
void step_status(Host *h, const StoreStep *row, const char *value);
/* Describe in out, as a JSON string, a value the record cannot hold (the error on top, popped). */
void step_describe_unrecordable(lua_State *L, Host *h, Buf *out);

#endif
