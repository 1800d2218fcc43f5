/* progress.c: a loop of the same auto step on a terminal is one status line, updated in place. */
#include "progress.h"
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REDRAW_MS 100         /* the line in place is drawn again at most this often */

static struct {
	int on;                   /* stderr is a terminal and the streams are ours */
	int open;                 /* a line in place is on the terminal, without its newline */
	char name[256];           /* the step of the last status line, when it could repeat */
	long count;               /* its executions in a row */
	int64_t first_ms, drawn_ms;
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
	double s = (double)(clock_mono_ms() - p.first_ms) / 1000.0;
	int n = snprintf(line, sizeof line, "\r\033[K%s  [%ld in a row, %.1f s%s", p.text, p.count, s, "");
	if (s > 0.05)
		n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f/s]", (double)(p.count - 1) / s);
	else
		n += snprintf(line + n, sizeof line - (size_t)n, "]");
	write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	p.drawn_ms = clock_mono_ms();
	p.open = 1;
}

void progress_end(void)
{
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
	if (p.open) {
		progress_end();
		p.name[0] = '\0';   /* the next status line starts afresh */
	}
	write_all(fd, buf, n);
	return (ssize_t)n;
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
	if (repeatable && p.name[0] && strcmp(p.name, name) == 0) {
		p.count++;
		snprintf(p.text, sizeof p.text, "%s", text);
		if (!p.open || clock_mono_ms() - p.drawn_ms >= REDRAW_MS)
			draw();
		return 1;
	}
	progress_end();
	p.name[0] = '\0';
	if (repeatable && strlen(name) < sizeof p.name) {
		snprintf(p.name, sizeof p.name, "%s", name);
		p.count = 1;
		p.first_ms = clock_mono_ms();
	}
	return 0;
}
