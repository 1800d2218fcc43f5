/* terminal.h: the terminal's echo, off while a secret is typed, and always put back. */
#ifndef UNDERSTUDY_TERMINAL_H
#define UNDERSTUDY_TERMINAL_H

/* Turn echo off on standard input's terminal (a secret answer). */
void terminal_echo_off(void);
/* Put echo back if it was turned off; safe in a signal handler. */
void terminal_restore(void);

#endif
