/*
 * progress.c: on a terminal, a loop of the same auto step is one status
 * line updated in place, and a long auto step shows how long it has run.
 */
#include "progress.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_MS 100         /* the line in place is drawn again at most this often */
#define RUNNING_SHOW_MS 1000  /* an auto step running this long shows its time... */
#define RUNNING_TICK_MS 250   /* ...looked at this often */
#define STEPS_MAX 16          /* steps inside steps followed */

/*
 * The main thread writes through the streams and status lines; the
 * ticker thread draws the running step's line. Both hold lock.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	int on;                   /* stderr is a terminal and the streams are ours */
	int open;                 /* a line in place is on the terminal, without its newline */
	int ticker;               /* the ticker thread runs */
	int depth;                /* steps running, inside one another */
	struct {
		char name[128];
		int show;             /* an auto step: its time is shown; a person's step: nothing is drawn */
		int64_t start_ms;
	} steps[STEPS_MAX];
	int running_shown;        /* the running step's line is on the terminal, without its newline */
	int64_t running_s;        /* the seconds it shows */
	char name[256];           /* the step of the last status line, when it could repeat */
	long count;               /* its executions in a row */
	int64_t first_ms, last_ms, drawn_ms;   /* its first and latest execution, the last drawing */
	char text[512];           /* the last of its status lines */
} p;

/* Write all of buf to fd, through interruptions. */
static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		buf += k, n -= (size_t)k;
	}
}

/* Draw the line in place: the latest status line of the step, then the count so far. */
static void draw(void)
{
	char line[700];
	double s = (double)(p.last_ms - p.first_ms) / 1000.0;
	int n = snprintf(line, sizeof line, "\r\033[K%s  [%ld in a row, %.1f s%s", p.text, p.count, s, "");
	if (s > 0.05)
		n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f/s]", (double)(p.count - 1) / s);
	else
		n += snprintf(line + n, sizeof line - (size_t)n, "]");
	write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	p.drawn_ms = clock_mono_ms();
	p.open = 1;
}

/* End the line in place, if any; the running step's line goes away. Holding lock. */
static void line_end(void)
{
	if (p.running_shown) {
		write_all(STDERR_FILENO, "\r\033[K", 4);
		p.running_shown = 0;
	}
	if (!p.open)
		return;
	draw();   /* the last count, then the line is done */
	write_all(STDERR_FILENO, "\n", 1);
	p.open = 0;
}

/* The streams the program writes with: what goes to the terminal ends the line in place first. */
static ssize_t to_fd(void *cookie, const char *buf, size_t n)
{
	int fd = (int)(intptr_t)cookie;
	pthread_mutex_lock(&lock);
	if (p.open || p.running_shown) {
		line_end();
		p.name[0] = '\0';   /* the next status line starts afresh */
	}
	write_all(fd, buf, n);
	pthread_mutex_unlock(&lock);
	return (ssize_t)n;
}

/* The ticker: every RUNNING_TICK_MS, the innermost auto step running for a while shows its time. */
static void *ticker(void *unused)
{
	struct timespec tick = { 0, RUNNING_TICK_MS * 1000000L };
	(void)unused;
	for (;;) {
		nanosleep(&tick, NULL);
		pthread_mutex_lock(&lock);
		if (p.depth > 0 && p.depth <= STEPS_MAX && p.steps[p.depth - 1].show) {
			int64_t ms = clock_mono_ms() - p.steps[p.depth - 1].start_ms;
			if (ms >= RUNNING_SHOW_MS && (!p.running_shown || ms / 1000 != p.running_s)) {
				char line[200];
				int n;
				if (p.open) {
					line_end();
					p.name[0] = '\0';
				}
				n = snprintf(line, sizeof line, "\r\033[K[running] auto %s (%lld s)", p.steps[p.depth - 1].name,
				             (long long)(ms / 1000));
				write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
				p.running_shown = 1;
				p.running_s = ms / 1000;
			}
		}
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int progress_step_enter(const char *name, int show)
{
	int depth;
	if (!p.on)
		return 0;
	pthread_mutex_lock(&lock);
	if (show && !p.ticker) {
		/* The first auto step starts the ticker, with every signal left to the main thread. */
		sigset_t all, old;
		pthread_t t;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&t, NULL, ticker, NULL) == 0) {
			pthread_detach(t);
			p.ticker = 1;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	depth = p.depth++;
	if (depth < STEPS_MAX) {
		snprintf(p.steps[depth].name, sizeof p.steps[depth].name, "%s", name);
		p.steps[depth].show = show;
		p.steps[depth].start_ms = clock_mono_ms();
	}
	pthread_mutex_unlock(&lock);
	return depth;
}

void progress_step_leave(int depth)
{
	if (!p.on)
		return;
	pthread_mutex_lock(&lock);
	p.depth = depth;
	if (p.running_shown) {
		write_all(STDERR_FILENO, "\r\033[K", 4);
		p.running_shown = 0;
	}
	pthread_mutex_unlock(&lock);
}

static FILE *stream(int fd)
{
	cookie_io_functions_t io = { NULL, to_fd, NULL, NULL };
	FILE *f = fopencookie((void *)(intptr_t)fd, "w", io);
	if (f)
		setvbuf(f, NULL, _IOLBF, BUFSIZ);
	return f;
}

void progress_start(int verbose)
{
	FILE *out, *err;
	if (verbose || !isatty(STDERR_FILENO))
		return;
	out = isatty(STDOUT_FILENO) ? stream(STDOUT_FILENO) : NULL;
	err = stream(STDERR_FILENO);
	if (!err || (isatty(STDOUT_FILENO) && !out)) {
		if (out)
			fclose(out);
		if (err)
			fclose(err);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	if (out)
		stdout = out;
	stderr = err;
	p.on = 1;
}

int progress_line(const char *name, int repeatable, const char *text)
{
	if (!p.on)
		return 0;
	pthread_mutex_lock(&lock);
	if (repeatable && p.name[0] && strcmp(p.name, name) == 0) {
		p.count++;
		p.last_ms = clock_mono_ms();
		snprintf(p.text, sizeof p.text, "%s", text);
		if (!p.open || clock_mono_ms() - p.drawn_ms >= REDRAW_MS)
			draw();
		pthread_mutex_unlock(&lock);
		return 1;
	}
	line_end();
	p.name[0] = '\0';
	if (repeatable && strlen(name) < sizeof p.name) {
		snprintf(p.name, sizeof p.name, "%s", name);
		p.count = 1;
		p.first_ms = p.last_ms = clock_mono_ms();
	}
	pthread_mutex_unlock(&lock);
	return 0;
}
