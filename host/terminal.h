/* terminal.h: the terminal's echo, off while a secret is typed and always put back; characters read as typed. */
#ifndef UNDERSTUDY_TERMINAL_H
#define UNDERSTUDY_TERMINAL_H

/* Turn echo off on standard input's terminal (a secret answer). */
void terminal_echo_off(void);
/* Put echo back if it was turned off; safe in a signal handler. */
void terminal_restore(void);

/*
 * Read one character typed at fd, UTF-8 as one code point. A byte that
 * is not UTF-8 comes as TERMINAL_RAW_BYTE | byte (a lone surrogate, which
 * no UTF-8 decodes to), so it can be told apart and refused. -1 at end
 * of input or on an error, -2 when a signal came before the first byte.
 */
#define TERMINAL_RAW_BYTE 0xDC00
int terminal_read_point(int fd);
/* Does terminal_read_point hold a byte already (no need to wait for input)? */
int terminal_pending(void);

#endif
