/* prompt.c: asks people: reads an answer line from the terminal or standard input. */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_termios;
static volatile sig_atomic_t echo_is_off;

/* Put echo back if a secret prompt turned it off; safe in a signal handler. */
void prompt_restore_terminal(void)
{
	if (echo_is_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
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
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
		echo_is_off = 1;
}

/*
 * Show prompt on stderr and read one line from stdin (the terminal, or the
 * piped lines). Returns 1 with the line (no newline) in out, 0 at end of
 * input, -1 when interrupted by a signal.
 */
int prompt_read_line(Host *h, const char *prompt, int secret, Buf *out)
{
	int rc;
	fputs(prompt, stderr);
	fflush(stderr);
	if (secret && h->tty)
		echo_off();
	buf_reset(out);
	for (;;) {
		int c = getc(stdin);
		if (c == EOF) {
			if (ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				if (host_interrupted) {
					rc = -1;
					break;
				}
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
		fprintf(stderr, "%s\n", secret ? "" : buf_str(out));
	if (rc == -1)
		fputc('\n', stderr);
	return rc;
}
