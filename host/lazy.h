/* lazy.h: libraries loaded when first used, not linked in: each one linked made every run start slower. */
#ifndef UNDERSTUDY_LAZY_H
#define UNDERSTUDY_LAZY_H

#include "buf.h"

#include <stddef.h>

/* A function to take from the library: its name, and where its pointer goes in the caller's table. */
typedef struct LazySymbol {
	const char *name;
	size_t offset;
} LazySymbol;

/*
 * dlopen soname and fill the table with its functions; the handle, or
 * NULL with why in err (package: the Debian package to install, or NULL).
 */
void *lazy_load(const char *soname, const char *package, const LazySymbol *symbols, size_t n, void *table, Buf *err);

#endif
