/* secret.h: the values of a run's secret answers, so the host never records or prints them. */
#ifndef UNDERSTUDY_SECRET_H
#define UNDERSTUDY_SECRET_H

#include <stddef.h>
#include "buf.h"

/* Secrets shorter than this are hidden only where they are a whole value, not inside text. */
#define SECRET_MIN_INSIDE 4

typedef struct Secret {
	char *name;                /* the step that asked for it */
	char *text;                /* a string, or a number's canonical JSON */
	size_t len;
} Secret;

typedef struct Secrets {
	Secret *items;
	size_t n, cap;
} Secrets;

/* Remember a secret value of step name (the same text once). */
void secrets_add(Secrets *s, const char *name, const char *text, size_t len);

/* The name of the secret whose whole value is text (a string, or a number's JSON), or NULL. */
const char *secrets_match(const Secrets *s, const char *text, size_t len);

/*
 * Append text to out with every secret in it (SECRET_MIN_INSIDE bytes or
 * more) replaced by <secret:NAME>; returns how many were replaced.
 */
int secrets_hide(const Secrets *s, const char *text, size_t len, Buf *out);

void secrets_free(Secrets *s);

#endif
