/* secret.c: the values of a run's secret answers, so the host never records or prints them. */
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void secrets_add(Secrets *s, const char *name, const char *text, size_t len)
{
	Secret *x;
	if (len == 0 || secrets_match(s, text, len))
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		Secret *items = realloc(s->items, cap * sizeof *items);
		if (!items)
			goto oom;
		s->items = items;
		s->cap = cap;
	}
	x = &s->items[s->n];
	x->name = strdup(name);
	x->text = malloc(len + 1);
	if (!x->name || !x->text)
		goto oom;
	memcpy(x->text, text, len);
	x->text[len] = '\0';
	x->len = len;
	s->n++;
	return;
oom:
	/* A secret that cannot be remembered could leak: stop here. */
	fputs("understudy: out of memory\n", stderr);
	abort();
}

const char *secrets_match(const Secrets *s, const char *text, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].len == len && memcmp(s->items[i].text, text, len) == 0)
			return s->items[i].name;
	return NULL;
}

int secrets_hide(const Secrets *s, const char *text, size_t len, Buf *out)
{
	size_t i = 0, run = 0;
	int hidden = 0;
	while (i < len) {
		const Secret *found = NULL;
		for (size_t k = 0; k < s->n; k++) {
			const Secret *x = &s->items[k];
			if (x->len >= SECRET_MIN_INSIDE && x->len <= len - i && memcmp(text + i, x->text, x->len) == 0 &&
			    (!found || x->len > found->len))
				found = x;   /* the longest one that starts here */
		}
		if (!found) {
			i++;
			continue;
		}
		buf_add(out, text + run, i - run);
		buf_addf(out, "<secret:%s>", found->name);
		i += found->len;
		run = i;
		hidden++;
	}
	buf_add(out, text + run, len - run);
	return hidden;
}

void secrets_free(Secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].name);
		free(s->items[i].text);
	}
	free(s->items);
	memset(s, 0, sizeof *s);
}
