/*
 * ptyrun.c: runs a command on a real pseudo-terminal and talks to it by a
 * script read from stdin, one directive a line:
 *   expect TEXT     wait until the output (after the last match) has TEXT
 *   send TEXT       type TEXT; \n \r \t \\ and \xHH are understood
 *   sendline TEXT   type TEXT and Enter
 *   sleep MS        wait
 * Then it waits for the command to end, prints everything the command
 * wrote to stdout, and exits with the command's status (128+N for signal
 * N). A failed expect prints the transcript and exits 98.
 * usage: ptyrun [-t SECONDS] -- COMMAND [ARG...]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *out;           /* all output so far */
static size_t outlen, outcap, mark;
static int master = -1;
static pid_t child;
static int timeout_s = 10;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read what the command wrote within ms; 0 at end of output. */
static int pump(int ms)
{
	struct pollfd p = { master, POLLIN, 0 };
	char buf[4096];
	ssize_t n;
	if (poll(&p, 1, ms) <= 0)
		return 1;
	n = read(master, buf, sizeof buf);
	if (n <= 0)
		return 0;
	if (outlen + (size_t)n + 1 > outcap) {
		outcap = (outlen + (size_t)n + 1) * 2;
		out = realloc(out, outcap);
		if (!out)
			exit(97);
	}
	memcpy(out + outlen, buf, (size_t)n);
	outlen += (size_t)n;
	out[outlen] = '\0';
	return 1;
}

static void fail(const char *why, const char *what)
{
	fprintf(stderr, "ptyrun: %s: %s\n--- transcript ---\n%s\n--- end ---\n", why, what, out ? out : "");
	kill(child, SIGKILL);
	exit(98);
}

/* Decode the escapes of a send directive into dst; returns the length. */
static size_t unescape(const char *s, char *dst)
{
	size_t n = 0;
	while (*s) {
		if (*s != '\\' || !s[1]) {
			dst[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': dst[n++] = '\n'; s++; break;
		case 'r': dst[n++] = '\r'; s++; break;
		case 't': dst[n++] = '\t'; s++; break;
		case 'x': {
			char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };
			dst[n++] = (char)strtol(hex, NULL, 16);
			s += 3;
			break;
		}
		default: dst[n++] = *s++;
		}
	}
	return n;
}

static void type_text(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(master, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail("cannot type", s);
		s += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	char line[8192], text[8192];
	struct winsize ws = { 24, 80, 0, 0 };
	int argi = 1, status;
	while (argi < argc && strcmp(argv[argi], "--") != 0) {
		if (strcmp(argv[argi], "-t") == 0 && argi + 1 < argc)
			timeout_s = atoi(argv[++argi]);
		argi++;
	}
	if (argi + 1 >= argc) {
		fputs("usage: ptyrun [-t SECONDS] -- COMMAND [ARG...] < SCRIPT\n", stderr);
		return 2;
	}
	child = forkpty(&master, NULL, NULL, &ws);
	if (child < 0) {
		perror("forkpty");
		return 97;
	}
	if (child == 0) {
		setenv("TERM", "dumb", 1);
		execvp(argv[argi + 1], argv + argi + 1);
		perror(argv[argi + 1]);
		_exit(127);
	}
	while (fgets(line, sizeof line, stdin)) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strncmp(line, "expect ", 7) == 0) {
			long long end = now_ms() + timeout_s * 1000LL;
			size_t n = unescape(line + 7, text);
			text[n] = '\0';
			for (;;) {
				char *hit = out ? strstr(out + mark, text) : NULL;
				if (hit) {
					mark = (size_t)(hit - out) + n;
					break;
				}
				if (now_ms() > end)
					fail("timed out waiting for", text);
				if (!pump(100))
					fail("output ended while waiting for", text);
			}
		} else if (strncmp(line, "sendline ", 9) == 0 || strcmp(line, "sendline") == 0) {
			size_t n = len > 9 ? unescape(line + 9, text) : 0;
			text[n++] = '\r';
			type_text(text, n);
		} else if (strncmp(line, "send ", 5) == 0) {
			type_text(text, unescape(line + 5, text));
		} else if (strncmp(line, "sleep ", 6) == 0) {
			long long end = now_ms() + atoi(line + 6);
			while (now_ms() < end)
				pump((int)(end - now_ms()));
		} else if (len && line[0] != '#') {
			fprintf(stderr, "ptyrun: unknown directive: %s\n", line);
			kill(child, SIGKILL);
			return 2;
		}
	}
	long long end = now_ms() + timeout_s * 1000LL;
	while (pump(100)) {
		if (now_ms() > end)
			fail("timed out waiting for the command to end", argv[argi + 1]);
		if (waitpid(child, &status, WNOHANG) == child) {
			while (pump(50))
				;
			goto ended;
		}
	}
	waitpid(child, &status, 0);
ended:
	fwrite(out ? out : "", 1, outlen, stdout);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
