/* prompt.c: asks people: reads an answer line from the terminal or standard input. */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ECHO_MAX 200          /* piped answers are echoed up to this length */

static struct termios saved_termios;
static volatile sig_atomic_t echo_is_off;

/* Put echo back if a secret prompt turned it off; safe in a signal handler. */
void prompt_restore_terminal(void)
{
	if (echo_is_off) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		echo_is_off = 0;
	}
}

/* Turn echo off for a secret answer on a terminal. */
static void echo_off(void)
{
	struct termios t;
	if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
		return;
	t = saved_termios;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)   /* typed-ahead input is kept */
		echo_is_off = 1;
}

/* Bytes stdin's buffer holds already: glibc's FILE, read as gnulib's freadahead does. */
static size_t stdin_buffered(void)
{
	return (size_t)(stdin->_IO_read_end - stdin->_IO_read_ptr);
}

/*
 * Show prompt on stderr and read one line from stdin (the terminal, or the
 * piped lines). Returns PROMPT_LINE with the line (no newline) in out,
 * PROMPT_EOF at end of input, PROMPT_INTERRUPTED on Ctrl-C or SIGTERM,
 * PROMPT_TIMEOUT when timeout_ms (if not 0) passed first.
 */
int prompt_read_line(Host *h, const char *prompt, int secret, int timeout_ms, Buf *out)
{
	int64_t deadline = timeout_ms ? clock_mono_ms() + timeout_ms : -1;
	int rc;
	if (secret && h->tty)
		echo_off();   /* before the prompt shows: nothing typed after it is echoed */
	fputs(prompt, stderr);
	fflush(stderr);
	buf_reset(out);
	for (;;) {
		/* Wait only when nothing is buffered: a signal or the timeout ends the wait. */
		int64_t left = deadline < 0 ? -1 : deadline > clock_mono_ms() ? deadline - clock_mono_ms() : 0;
		int ready = stdin_buffered() ? (host_interrupted ? -1 : 1) : host_wait(STDIN_FILENO, left);
		if (ready <= 0) {
			rc = ready < 0 ? PROMPT_INTERRUPTED : PROMPT_TIMEOUT;
			break;
		}
		int c = getc(stdin);
		if (c == EOF) {
			if (ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				continue;
			}
			rc = out->len > 0;
			if (!rc && h->tty)
				fputc('\n', stderr);
			break;
		}
		if (c == '\n') {
			rc = 1;
			break;
		}
		buf_addc(out, (char)c);
	}
	prompt_restore_terminal();
	if (rc == 1 && out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	/* Piped answers are not echoed by a terminal: show them, so logs read well. */
	if (rc == 1 && !h->tty)
		fprintf(stderr, "%.*s%s\n", secret ? 0 : ECHO_MAX, buf_str(out),
		        !secret && out->len > ECHO_MAX ? "..." : "");
	if (rc == PROMPT_INTERRUPTED || rc == PROMPT_TIMEOUT)
		fputc('\n', stderr);
	return rc;
}
