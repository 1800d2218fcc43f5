/* lazy.c: libraries loaded when first used (libcurl, libpq, libmicrohttpd, libedit). */
#include "lazy.h"

#include <dlfcn.h>
#include <string.h>

void *lazy_load(const char *soname, const char *package, const LazySymbol *symbols, size_t n, void *table, Buf *err)
{
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		if (package)
			buf_addf(err, "cannot load %s (Debian: apt-get install %s): %s", soname, package, dlerror());
		else
			buf_addf(err, "cannot load %s: %s", soname, dlerror());
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(handle, symbols[i].name);
		if (!f) {
			buf_addf(err, "%s has no %s", soname, symbols[i].name);
			dlclose(handle);
			return NULL;
		}
		memcpy((char *)table + symbols[i].offset, &f, sizeof f);
	}
	return handle;
}
