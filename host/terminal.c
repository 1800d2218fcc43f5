/* terminal.c: the terminal's echo, off while a secret is typed, and always put back. */
#include "terminal.h"

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
