/* remote.c: answers from elsewhere: the waiting state of a step, offered answers, what became of them. */
#include "remote.h"
#include "answer.h"
#include "child.h"
#include "run.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BEAT_MS 5000          /* a waiting runner says it is alive this often */
#define POLL_MS 250           /* and looks at the offered answers this often (SQLite) */
#define POLL_SLOW_MS 1000     /* or this often, when the store wakes it (PostgreSQL's NOTIFY) */
#define WARN_EVERY_MS 30000   /* a failing store is warned about this often while a step waits */

static const char *this_host(void)
{
	static char name[256];
	if (!name[0])
		gethostname(name, sizeof name - 1);
	return name;
}

int remote_alive(const StoreWait *w, int64_t now_ms)
{
	if (!w->state || strcmp(w->state, "waiting") != 0 || now_ms - w->beat_ms > REMOTE_STALE_MS)
		return 0;
	if (w->host && strcmp(w->host, this_host()) == 0 && w->pid > 0)
		return process_alive((pid_t)w->pid);
	return 1;
}

/* The runner's side. */

/* A failure while waiting only warns (the terminal still answers): once in a while, not at every look. */
static void wait_warn(Store *s)
{
	static int64_t last;
	if (last && clock_mono_ms() - last < WARN_EVERY_MS)
		return;
	last = clock_mono_ms();
	fprintf(stderr, "understudy: warning: %s\n", store_error(s));
}

/* Encode the value at idx (0: none) into b as JSON for the wait's row; NULL when none or it cannot be. */
static const char *wait_json(lua_State *L, Host *h, int idx, Buf *b)
{
	buf_reset(b);
	if (!idx || step_encode(L, h, idx, b, NULL))
		return NULL;
	return buf_str(b);
}

void remote_wait_begin(lua_State *L, Host *h, const Spec *sp, int occurrence)
{
	Buf choices = { 0 }, def = { 0 };
	StoreWait w = { 0 };
	w.run = h->run;
	w.pipeline = h->pipeline;
	w.step = sp->name;
	w.occurrence = occurrence;
	w.type = answer_type_name(sp->type);
	w.instructions = host_hide_secrets(L, sp->instructions);
	w.inputs = h->step.inputs.len ? buf_str(&h->step.inputs) : NULL;
	w.choices = wait_json(L, h, sp->choices, &choices);
	w.default_value = wait_json(L, h, sp->def, &def);
	w.candidate = sp->candidate && !sp->secret && h->step.candidate.len ? buf_str(&h->step.candidate) : NULL;
	w.secret = sp->secret;
	w.operator = h->operator;
	w.host = this_host();
	w.pid = (long)getpid();
	w.since_ms = clock_wall_ms();
	h->wait = h->store->m->wait_begin(h->store, &w);
	lua_pop(L, 1);
	buf_free(&choices);
	buf_free(&def);
	if (!h->wait)
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	h->wait_offer = 0;
	h->wait_beat_ms = clock_mono_ms() + BEAT_MS;
	h->wait_poll_ms = clock_mono_ms();
}

int64_t remote_next_ms(Host *h, int *fd)
{
	int64_t left = h->wait_poll_ms - clock_mono_ms();
	*fd = h->store->m->wait_fd ? h->store->m->wait_fd(h->store) : -1;
	return left < 0 ? 0 : left;
}

/* The oldest offer still to settle, copied. */
typedef struct Offered {
	int64_t id;
	Buf value, note, by;
	char how[16];
} Offered;

static int offer_copy(void *ud, const StoreOffer *o)
{
	Offered *f = ud;
	f->id = o->id;
	buf_add(&f->value, o->value, strlen(o->value));
	buf_adds(&f->note, o->note ? o->note : "");
	buf_adds(&f->by, o->operator);
	snprintf(f->how, sizeof f->how, "%s", strcmp(o->how, "web") == 0 ? "web" : "remote");
	return 1;
}

/* Does an offer wait? Stops at the first row. */
static int offer_seen(void *ud, const StoreOffer *o)
{
	(void)ud, (void)o;
	return 1;
}

int remote_offered(Host *h)
{
	Store *s = h->store;
	int fd, rc;
	if (!h->wait)
		return 0;
	if (clock_mono_ms() >= h->wait_beat_ms) {
		if (s->m->wait_end(s, h->wait, NULL, NULL, NULL, 0, clock_wall_ms()))
			wait_warn(s);
		h->wait_beat_ms = clock_mono_ms() + BEAT_MS;
	}
	if (s->m->wait_drain)
		s->m->wait_drain(s);
	remote_next_ms(h, &fd);
	h->wait_poll_ms = clock_mono_ms() + (fd >= 0 ? POLL_SLOW_MS : POLL_MS);
	if ((rc = s->m->offers(s, h->wait, 0, offer_seen, NULL)) < 0)
		wait_warn(s);
	return rc > 0;
}

const char *remote_poll(lua_State *L, Host *h, const Spec *sp)
{
	Store *s = h->store;
	const char *how = NULL;
	if (!h->wait)
		return NULL;
	while (!how) {
		Offered f = { 0 };
		int rc = s->m->offers(s, h->wait, 0, offer_copy, &f);
		if (rc <= 0) {
			if (rc < 0)
				wait_warn(s);
			buf_free(&f.value), buf_free(&f.note), buf_free(&f.by);
			break;
		}
		if (sp->secret) {
			buf_reset(&h->step.reason);
			buf_adds(&h->step.reason, "a secret is answered only at the runner's terminal");
		} else if (answer_parse(L, h, sp, buf_str(&f.value), f.value.len, &h->step.reason) == 0) {
			if (answer_accept(L, h, sp, &h->step.reason) == 0)
				how = f.how;
			else
				lua_pop(L, 1);
		}
		if (how) {
			h->wait_offer = f.id;
			buf_reset(&h->step.by);
			buf_adds(&h->step.by, buf_str(&f.by));
			buf_reset(&h->step.note);
			buf_adds(&h->step.note, buf_str(&f.note));
			how = how[0] == 'w' ? "web" : "remote";
			fprintf(stderr, "  answered by %s (%s)\n", buf_str(&f.by), how);
		} else {
			fprintf(stderr, "  ! an answer from %s (%s) was refused: %s\n", buf_str(&f.by), f.how,
			        buf_str(&h->step.reason));
			if (s->m->offer_refuse(s, f.id, buf_str(&h->step.reason)))
				fprintf(stderr, "understudy: warning: %s\n", store_error(s));
		}
		buf_free(&f.value), buf_free(&f.note), buf_free(&f.by);
	}
	return how;
}

void remote_wait_end(Host *h, const char *state, const char *by, const char *how)
{
	if (!h->wait)
		return;
	if (h->store->m->wait_end(h->store, h->wait, state, by, how, h->wait_offer, clock_wall_ms()))
		fprintf(stderr, "understudy: warning: %s\n", store_error(h->store));
	if (h->store->m->wait_close)
		h->store->m->wait_close(h->store);
	h->wait = 0;
	h->wait_offer = 0;
}

/* The answerer's side. */

/* What an answerer needs of a wait, copied. */
typedef struct Waited {
	int found;
	int64_t id, run, ended_ms;
	int occurrence, secret, alive;
	char state[16], how[16];
	Buf step, by, host;
	long pid;
} Waited;

static void waited_free(Waited *w)
{
	buf_free(&w->step), buf_free(&w->by), buf_free(&w->host);
}

/* Keep the newest wait, or the newest still waiting when there is one. */
static int wait_copy(void *ud, const StoreWait *w)
{
	Waited *c = ud;
	int alive = remote_alive(w, clock_wall_ms());
	if (c->found && !(strcmp(w->state, "waiting") == 0 && strcmp(c->state, "waiting") != 0))
		return 0;
	waited_free(c);
	memset(c, 0, sizeof *c);
	c->found = 1;
	c->id = w->id, c->run = w->run, c->ended_ms = w->ended_ms;
	c->occurrence = w->occurrence, c->secret = w->secret, c->alive = alive, c->pid = w->pid;
	snprintf(c->state, sizeof c->state, "%s", w->state);
	snprintf(c->how, sizeof c->how, "%s", w->how ? w->how : "");
	buf_adds(&c->step, w->step);
	buf_adds(&c->by, w->answered_by ? w->answered_by : "");
	buf_adds(&c->host, w->host ? w->host : "");
	return strcmp(w->state, "waiting") == 0 ? 1 : 0;   /* the newest waiting one: done */
}

/* What became of a wait that no longer takes answers, in msg. */
static int wait_said(Waited *w, Buf *msg)
{
	char when[32];
	clock_iso(w->ended_ms, when);
	if (strcmp(w->state, "answered") == 0) {
		buf_addf(msg, "already answered by %s at %s", buf_str(&w->by), when);
		return REMOTE_LATE;
	}
	if (strcmp(w->state, "default") == 0) {
		buf_addf(msg, "already answered: no answer came in time and the default was taken at %s", when);
		return REMOTE_LATE;
	}
	if (strcmp(w->state, "waiting") == 0) {
		buf_addf(msg, "run %lld stopped waiting at step \"%s\": its process (pid %ld on %s) is gone",
		         (long long)w->run, buf_str(&w->step), w->pid, buf_str(&w->host));
		return REMOTE_GONE;
	}
	buf_addf(msg, "run %lld stopped waiting at step \"%s\" at %s: %s", (long long)w->run, buf_str(&w->step),
	         when, w->state);
	return REMOTE_GONE;
}

/* Read a wait by filter into w; 0, or REMOTE_ERROR with the message. */
static int wait_read(Store *s, const StoreWaitFilter *f, Waited *w, Buf *msg)
{
	if (s->m->waits(s, f, wait_copy, w) < 0) {
		buf_adds(msg, store_error(s));
		return REMOTE_ERROR;
	}
	return 0;
}

int remote_offer(Store *s, int64_t run, const char *step, const StoreOffer *o, int64_t *offer, Buf *msg)
{
	StoreWaitFilter f = { .run = run, .step = step };
	StoreOffer mine = *o;
	Waited w = { 0 };
	int rc = wait_read(s, &f, &w, msg);
	*offer = 0;
	if (rc) {
	} else if (!w.found) {
		buf_addf(msg, "run %lld has no step \"%s\" waiting for an answer", (long long)run, step);
		rc = REMOTE_NOT_WAITING;
	} else if (!w.alive) {
		rc = wait_said(&w, msg);
	} else if (w.secret) {
		buf_addf(msg, "step \"%s\" is secret: it is answered only at the runner's terminal", step);
		rc = REMOTE_REFUSED;
	} else {
		mine.wait = w.id;
		*offer = s->m->offer(s, &mine);
		if (*offer > 0) {
			rc = REMOTE_PENDING;
		} else if (*offer < 0) {
			buf_adds(msg, store_error(s));
			rc = REMOTE_ERROR;
		} else {
			/* It stopped waiting meanwhile: say how. */
			StoreWaitFilter again = { .id = w.id };
			waited_free(&w);
			memset(&w, 0, sizeof w);
			rc = wait_read(s, &again, &w, msg);
			if (!rc)
				rc = wait_said(&w, msg);
		}
	}
	waited_free(&w);
	return rc;
}

/* An offer, copied. */
typedef struct OfferState {
	int64_t wait;
	char state[16];
	Buf reason;
} OfferState;

static int offer_state(void *ud, const StoreOffer *o)
{
	OfferState *c = ud;
	c->wait = o->wait;
	snprintf(c->state, sizeof c->state, "%s", o->state);
	buf_reset(&c->reason);
	buf_adds(&c->reason, o->reason ? o->reason : "");
	return 1;
}

int remote_settled(Store *s, int64_t offer, Buf *msg)
{
	OfferState o = { 0 };
	Waited w = { 0 };
	int rc = REMOTE_PENDING;
	for (int pass = 0; pass < 2 && rc == REMOTE_PENDING; pass++) {
		StoreWaitFilter f = { 0 };
		if (s->m->offers(s, 0, offer, offer_state, &o) < 0) {
			buf_adds(msg, store_error(s));
			rc = REMOTE_ERROR;
		} else if (strcmp(o.state, "taken") == 0) {
			rc = REMOTE_TAKEN;
		} else if (strcmp(o.state, "refused") == 0) {
			buf_adds(msg, buf_str(&o.reason));
			rc = REMOTE_REFUSED;
		} else if (pass == 0) {
			f.id = o.wait;
			rc = wait_read(s, &f, &w, msg);
			if (!rc && strcmp(w.state, "waiting") == 0 && w.alive)
				rc = REMOTE_PENDING, pass = 2;
			else if (!rc)
				rc = REMOTE_PENDING;   /* read the offer again: it may have been taken as the wait ended */
		} else {
			rc = wait_said(&w, msg);   /* late, or the runner is gone */
		}
	}
	buf_free(&o.reason);
	waited_free(&w);
	return rc;
}

int remote_http_status(int result)
{
	switch (result) {
	case REMOTE_TAKEN: return 200;
	case REMOTE_PENDING: return 202;
	case REMOTE_REFUSED: return 422;
	case REMOTE_LATE: return 409;
	case REMOTE_GONE: return 410;
	case REMOTE_NOT_WAITING: return 404;
	default: return 500;
	}
}

/* answer RUN STEP VALUE: offer the answer, and wait for the runner's word on it. */
int remote_answer_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	StoreOffer o = { 0 };
	Buf msg = { 0 };
	char *end;
	int64_t offer;
	long long run = strtoll(opt->words[0], &end, 10);
	int rc;
	if (*end || end == opt->words[0] || run <= 0)
		return host_fail(L, EXIT_USAGE, "answer: RUN must be a run number, not '%s'", opt->words[0]);
	host_signals_install(L);   /* Ctrl-C while the runner has not said: the offer stays */
	history_open(L, h, 0);
	o.value = opt->words[2];
	o.note = opt->note;
	o.operator = run_operator(L, opt);
	o.how = "remote";
	o.at_ms = clock_wall_ms();
	rc = remote_offer(h->store, run, opt->words[1], &o, &offer, &msg);
	while (rc == REMOTE_PENDING) {
		if (host_wait(-1, 100) < 0) {
			buf_free(&msg);
			host_raise_interrupt(L, "interrupted: the answer stays offered to run %lld; the runner may still take it", run);
		}
		rc = remote_settled(h->store, offer, &msg);
	}
	if (rc == REMOTE_TAKEN) {
		fprintf(stderr, "run %lld: \"%s\" answered by %s\n", run, opt->words[1], o.operator);
		buf_free(&msg);
		return EXIT_OK;
	}
	lua_pushstring(L, buf_str(&msg));
	buf_free(&msg);
	return host_fail(L, rc == REMOTE_ERROR ? EXIT_HISTORY : EXIT_FAILED, "answer: %s", lua_tostring(L, -1));
}
