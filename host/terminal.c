/* terminal.c: the terminal's echo, off while a secret is typed and always put back; characters read as typed. */
#include "terminal.h"

#include <errno.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_termios;
static volatile sig_atomic_t echo_is_off;

void terminal_restore(void)
{
	if (echo_is_off) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		echo_is_off = 0;
	}
}

void terminal_echo_off(void)
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

/* A byte read that did not continue a character: the next one read. */
static int pending = -1;

int terminal_pending(void)
{
	return pending >= 0;
}

int terminal_read_point(int fd)
{
	int need = 0;
	unsigned char c, lead = 0;
	unsigned point = 0;
	for (;;) {
		if (pending >= 0) {
			c = (unsigned char)pending;
			pending = -1;
		} else {
			ssize_t n;
			while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
				if (!need)
					return -2;
			if (n != 1)
				return need ? TERMINAL_RAW_BYTE | lead : -1;
		}
		if (need) {
			if ((c & 0xC0) != 0x80) {
				pending = c;   /* not UTF-8 after all: the lead byte as it is, then this one */
				return TERMINAL_RAW_BYTE | lead;
			}
			point = point << 6 | (c & 0x3F);
			if (--need == 0)
				return (int)point;
		} else if (c >= 0xF0 && c <= 0xF4) {
			point = c & 0x07, need = 3, lead = c;
		} else if (c >= 0xE0 && c <= 0xEF) {
			point = c & 0x0F, need = 2, lead = c;
		} else if (c >= 0xC2 && c <= 0xDF) {
			point = c & 0x1F, need = 1, lead = c;
		} else {
			return c < 0x80 ? c : TERMINAL_RAW_BYTE | c;
		}
	}
}
