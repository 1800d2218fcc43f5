/* store.c: what every backend of the history shares: the pending rows, when to commit, trust's streak. */
#include "store.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define FLUSH_ROWS 1000       /* pending rows that force a commit */
#define FLUSH_MS 250          /* age of the oldest pending row that does */
#define CHUNK_SIZE 65536

/* Pending rows' strings live here between commits: chunks never move. */
struct StoreChunk {
	struct StoreChunk *next;
	size_t used, cap;
	char data[];
};

int store_is_pg(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0 ||
	       strcmp(target, "postgresql:") == 0;
}

/* The password in a PostgreSQL URI: after the user's ':', up to the last '@' before any '?'; n 0 when none. */
/*
 * Where a URI's authority starts (after "://"; NULL when there is none),
 * and in *at its last '@' before any '?' (a password may hold '/'), NULL
 * when none.
 */
static const char *uri_authority(const char *target, const char **at)
{
	const char *rest = strstr(target, "://");
	size_t len;
	*at = NULL;
	if (!rest)
		return NULL;
	rest += 3;
	len = strcspn(rest, "?");
	for (size_t i = 0; i < len; i++)
		if (rest[i] == '@')
			*at = rest + i;
	return rest;
}

static const char *uri_password(const char *target, size_t *n)
{
	const char *at, *colon, *rest = uri_authority(target, &at);
	*n = 0;
	if (!rest || !at || !(colon = memchr(rest, ':', (size_t)(at - rest))))
		return NULL;
	*n = (size_t)(at - colon - 1);
	return colon + 1;
}

void store_name(const char *target, Buf *out)
{
	const char *at, *rest = uri_authority(target, &at);
	if (!store_is_pg(target) || !rest) {
		buf_adds(out, target);
		return;
	}
	/* The scheme, then what follows the user and password, no parameters. */
	buf_add(out, target, (size_t)(rest - target));
	if (at)
		rest = at + 1;
	buf_add(out, rest, strcspn(rest, "?"));
}

/* Blank every piece of the URI's password (split where a parser might split it) out of the message. */
static void password_scrub(const char *target, Buf *msg)
{
	size_t n, piece;
	const char *pw = uri_password(target, &n);
	for (const char *p = pw; p && p < pw + n; p += piece + 1) {
		piece = strcspn(p, "/:?#@");
		if (piece > (size_t)(pw + n - p))
			piece = (size_t)(pw + n - p);
		if (piece < 2)
			continue;
		for (char *hit; msg->data && (hit = memmem(msg->data, msg->len, p, piece));)
			memset(hit, '*', piece);
	}
}

Store *store_open(const char *target, int create, const volatile sig_atomic_t *stop, Buf *err)
{
	const StoreMethods *m = store_is_pg(target) ? &store_pg_methods : &store_sqlite_methods;
	Store *s = m->open(target, create, stop, err);
	if (!s)
		password_scrub(target, err);
	return s;
}

int store_init(Store *s, const StoreMethods *m, const char *where, const volatile sig_atomic_t *stop)
{
	s->m = m;
	s->stop = stop;
	pthread_mutex_init(&s->lock, NULL);
	return (s->where = strdup(where)) ? 0 : -1;
}

/* Forget the pending rows; keep one ordinary chunk for the next ones. */
static void pending_clear(Store *s)
{
	struct StoreChunk *c, *next, *keep = NULL;
	for (c = s->chunks; c; c = next) {
		next = c->next;
		if (!keep && c->cap == CHUNK_SIZE) {
			keep = c;
			keep->next = NULL;
			keep->used = 0;
		} else {
			free(c);
		}
	}
	s->chunks = keep;
	s->npending = 0;
	s->nlogs = 0;
}

void store_free(Store *s)
{
	pthread_mutex_lock(&s->lock);   /* the watchdog may be saving the rows: it ends the process */
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	pending_clear(s);
	free(s->chunks);
	free(s->pending);
	free(s->logs);
	buf_free(&s->err);
	free(s->where);
}

void store_close(Store *s)
{
	if (!s)
		return;
	if (s->npending || s->nlogs)
		store_flush(s);
	s->m->close(s);
}

const char *store_where(Store *s)
{
	return s->where;
}

const char *store_error(Store *s)
{
	return buf_str(&s->err);
}

void store_fail(Store *s, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	buf_reset(&s->err);
	buf_adds(&s->err, text);
}

int64_t store_run_begin(Store *s, const StoreRun *run)
{
	return s->lost ? 0 : s->m->run_begin(s, run);
}

int store_run_finish(Store *s, int64_t run, const char *status, const char *error)
{
	int rc = store_flush(s);
	if (s->lost)
		return -1;   /* steps are missing: the run is left running, and shows as abandoned */
	return s->m->run_finish(s, run, status, error, clock_wall_ms()) || rc ? -1 : 0;
}

/* Copy str into the pending rows' storage; NULL stays NULL. */
static const char *pending_strdup(Store *s, const char *str)
{
	struct StoreChunk *c = s->chunks;
	size_t n;
	char *p;
	if (!str)
		return NULL;
	n = strlen(str) + 1;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
		if (!(c = malloc(sizeof *c + cap))) {
			fputs("understudy: out of memory\n", stderr);
			abort();
		}
		c->used = 0;
		c->cap = cap;
		c->next = s->chunks;
		s->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, str, n);
	c->used += n;
	return p;
}

/* Make room for one more element in *array (n used of *cap); 0 or -1. */
static int grow(Store *s, void **array, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return 0;
	size_t more = *cap ? 2 * *cap : 64;
	void *p = realloc(*array, more * size);
	if (!p) {
		store_fail(s, "out of memory");
		return -1;
	}
	*array = p;
	*cap = more;
	return 0;
}

/* Commit when enough rows or time have gathered since the first pending one. */
static int flush_when_due(Store *s)
{
	if (s->npending + s->nlogs == 1)
		s->pending_since_ms = clock_mono_ms();
	if (s->npending + s->nlogs >= FLUSH_ROWS || clock_mono_ms() - s->pending_since_ms >= FLUSH_MS)
		return store_flush(s);
	return 0;
}

int store_log_add(Store *s, const StoreLog *log)
{
	StoreLog *p;
	if (s->lost)
		return -1;
	pthread_mutex_lock(&s->lock);
	if (grow(s, (void **)&s->logs, s->nlogs, &s->caplogs, sizeof *s->logs)) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	p = &s->logs[s->nlogs];
	*p = *log;
	p->level = pending_strdup(s, log->level);
	p->message = pending_strdup(s, log->message);
	s->nlogs++;
	pthread_mutex_unlock(&s->lock);
	return flush_when_due(s);
}

int store_step_add(Store *s, const StoreStep *step)
{
	StoreStep *p;
	if (s->lost)
		return -1;
	pthread_mutex_lock(&s->lock);
	if (grow(s, (void **)&s->pending, s->npending, &s->cappending, sizeof *s->pending)) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	p = &s->pending[s->npending];
	*p = *step;
	p->pipeline = pending_strdup(s, step->pipeline);
	p->name = pending_strdup(s, step->name);
	p->kind = pending_strdup(s, step->kind);
	p->how = pending_strdup(s, step->how);
	p->status = pending_strdup(s, step->status);
	p->instructions = pending_strdup(s, step->instructions);
	p->inputs = pending_strdup(s, step->inputs);
	p->output = pending_strdup(s, step->output);
	p->results = pending_strdup(s, step->results);
	p->error = pending_strdup(s, step->error);
	p->secret_hash = pending_strdup(s, step->secret_hash);
	p->candidate_output = pending_strdup(s, step->candidate_output);
	p->candidate_source = pending_strdup(s, step->candidate_source);
	p->operator = pending_strdup(s, step->operator);
	p->run_status = NULL;
	s->npending++;
	pthread_mutex_unlock(&s->lock);
	return flush_when_due(s);
}

/*
 * Commit what is pending. On failure the rows are dropped and the history
 * is marked lost: what was reported lost is never written later, and
 * nothing after it.
 */
static int flush(Store *s, int durable)
{
	int rc;
	if (s->lost)
		return -1;
	if (s->npending == 0 && s->nlogs == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = s->m->write(s, s->pending, s->npending, s->logs, s->nlogs, durable);
	if (rc != 0)
		s->lost = 1;
	pending_clear(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_flush(Store *s)
{
	return flush(s, 0);
}

int store_flush_durable(Store *s)
{
	return flush(s, 1);
}

int store_mark_interrupted(Store *s, int64_t run, const char *error)
{
	struct timespec until;
	int locked;
	/* The main thread is stuck outside the store, so the rows are free; but do not wait for ever. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	locked = pthread_mutex_timedlock(&s->lock, &until) == 0;
	if (!locked || s->lost)
		return s->m->write_aside(s, NULL, 0, NULL, 0, run, error);
	return s->m->write_aside(s, s->pending, s->npending, s->logs, s->nlogs, run, error);
	/* the lock stays held: the caller ends the process */
}

int store_candidate_streak(Store *s, const char *pipeline, const char *step, int n)
{
	int *agrees, count = 0, streak = 0;
	if (n <= 0)
		return 0;
	if (!(agrees = malloc((size_t)n * sizeof *agrees))) {
		store_fail(s, "out of memory");
		return -1;
	}
	if (s->m->candidate_recent(s, pipeline, step, n, agrees, &count) != 0)
		streak = -1;
	while (streak >= 0 && streak < count && agrees[streak] == 1)
		streak++;
	free(agrees);
	return streak;
}

int store_secret_key(Store *s, unsigned char key[32], int how)
{
	unsigned char have[32], fresh[32];
	int rc = s->m->key_get(s, have);
	if (rc == 0 && how != STORE_KEY_READ) {
		if (how == STORE_KEY_PUT) {
			memcpy(fresh, key, sizeof fresh);
		} else if (getrandom(fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh) {
			store_fail(s, "%s: cannot make the key for secret answers: %s", s->where, strerror(errno));
			return -1;
		}
		if (s->m->key_offer(s, fresh) || (rc = s->m->key_get(s, have)) < 0)
			return -1;
		if (rc == 0) {
			store_fail(s, "%s: the key for secret answers went missing", s->where);
			return -1;
		}
	}
	if (rc <= 0)
		return rc;
	if (how == STORE_KEY_PUT)
		return memcmp(have, key, sizeof have) == 0;
	memcpy(key, have, sizeof have);
	return how == STORE_KEY_READ ? 1 : 0;
}

const char *store_sql_window(const char *sql, const char *clause, Buf *out)
{
	const char *at;
	if (!clause)
		return sql;
	buf_reset(out);
	while ((at = strstr(sql, STORE_WINDOW))) {
		buf_add(out, sql, (size_t)(at - sql));
		buf_adds(out, clause);
		sql = at + strlen(STORE_WINDOW);
	}
	buf_adds(out, sql);
	return buf_str(out);
}

size_t store_totals_count(const StoreStep *rows, size_t n, StoreTotal *t, size_t cap, size_t *nt)
{
	size_t i;
	for (i = 0; i < n; i++) {
		const StoreStep *r = &rows[i];
		size_t k = 0;
		if (!r->pipeline || !r->name || !r->kind || !r->how)
			continue;   /* a row the store refuses: its batch fails, whatever is counted */
		if (strcmp(r->kind, "auto") != 0 || strcmp(r->how, "replay") == 0 || strcmp(r->how, "dry") == 0)
			continue;
		while (k < *nt && !(strcmp(t[k].name, r->name) == 0 && strcmp(t[k].pipeline, r->pipeline) == 0))
			k++;
		if (k == *nt) {
			if (*nt == cap)
				break;
			t[(*nt)++] = (StoreTotal){ r->pipeline, r->name, 0, 0, 0 };
		}
		t[k].autos++;
		t[k].last_run = r->run;
		t[k].last_seq = r->seq;
	}
	return i;
}
