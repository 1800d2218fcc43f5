/* edit.c: libedit loaded at the first prompt or REPL line at a terminal, not linked in (lazy.h). */
#include "edit.h"
#include "lazy.h"

#include <stddef.h>
#include <stdio.h>

#define LIBEDIT "libedit.so.2"

struct Edit ed;

int edit_load(void)
{
	static const LazySymbol symbols[] = {
#define X(f) { #f, offsetof(struct Edit, f) },
		EDIT_NAMES(X)
#undef X
	};
	static int failed;
	Buf err = { 0 };
	if (ed.handle || failed)
		return ed.handle != NULL;
	if (!(ed.handle = lazy_load(LIBEDIT, "libedit2", symbols, sizeof symbols / sizeof symbols[0], &ed, &err))) {
		fprintf(stderr, "understudy: warning: %s; lines are read without editing\n", buf_str(&err));
		failed = 1;
	}
	buf_free(&err);
	return ed.handle != NULL;
}
