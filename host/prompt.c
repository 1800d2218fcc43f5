/* prompt.c: asks people: reads an answer line from the terminal or standard input. */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
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

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* Arm (ms > 0) or disarm (0) the timer whose signal ends a waiting read. */
static void alarm_set(int ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	if (ms > 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_alarm;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);   /* no SA_RESTART: the read returns */
		it.it_value.tv_sec = ms / 1000;
		it.it_value.tv_usec = (ms % 1000) * 1000;
	}
	timed_out = 0;
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * Show prompt on stderr and read one line from stdin (the terminal, or the
 * piped lines). Returns PROMPT_LINE with the line (no newline) in out,
 * PROMPT_EOF at end of input, PROMPT_INTERRUPTED on Ctrl-C or SIGTERM,
 * PROMPT_TIMEOUT when timeout_ms (if not 0) passed first.
 */
int prompt_read_line(Host *h, const char *prompt, int secret, int timeout_ms, Buf *out)
{
	int rc;
	if (secret && h->tty)
		echo_off();   /* before the prompt shows: nothing typed after it is echoed */
	fputs(prompt, stderr);
	fflush(stderr);
	buf_reset(out);
	alarm_set(timeout_ms);
	for (;;) {
		if (timed_out) {
			rc = PROMPT_TIMEOUT;
			break;
		}
		int c = getc(stdin);
		if (c == EOF) {
			if (ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				if (host_interrupted) {
					rc = PROMPT_INTERRUPTED;
					break;
				}
				if (timed_out) {
					rc = PROMPT_TIMEOUT;
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
	alarm_set(0);
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
