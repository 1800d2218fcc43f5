/* buf.h: a growable byte buffer, reused across steps to avoid allocations. */
#ifndef UNDERSTUDY_BUF_H
#define UNDERSTUDY_BUF_H

#include <stddef.h>

typedef struct Buf {
	char *data;     /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
} Buf;

void buf_free(Buf *b);
void buf_reset(Buf *b);
void buf_add(Buf *b, const void *p, size_t n);
void buf_addc(Buf *b, char c);
void buf_adds(Buf *b, const char *s);
void buf_addf(Buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *buf_str(Buf *b);   /* "" for an empty buffer */

/* v in decimal, written by hand at the end of tmp; returns where it starts. */
char *buf_int(long long v, char tmp[24]);

#endif
