/* fs.c: the fs module: files read and written whole (writes atomic), folders, globs. */
#include "../host/host.h"
#include "../host/path.h"
#include "stdlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Expected failures return nil, "path: why" (as io.open does). */
static int fs_fail(lua_State *L, const char *path)
{
	int e = errno;
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", path, strerror(e));
	return 2;
}

/* fs.read(path) -> text | nil, message */
static int fs_read(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	luaL_Buffer b;
	char *chunk;
	size_t n;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fs_fail(L, path);
	luaL_buffinit(L, &b);
	do {
		chunk = luaL_prepbuffer(&b);
		n = fread(chunk, 1, LUAL_BUFFERSIZE, f);
		luaL_addsize(&b, n);
	} while (n == LUAL_BUFFERSIZE);
	if (ferror(f)) {
		fclose(f);
		return fs_fail(L, path);
	}
	fclose(f);
	luaL_pushresult(&b);
	return 1;
}

/*
 * fs.write(path, text) -> true | nil, message: atomic: a temporary file
 * beside it, synced, then renamed over it.
 */
static int fs_write(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	size_t n, done = 0;
	const char *text = luaL_checklstring(L, 2, &n);
	host_outside(L, "fs.write");
	const char *tmp = lua_pushfstring(L, "%s.tmp.%d", path, (int)getpid());
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? st.st_mode & 07777 : 0666;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return fs_fail(L, path);
	while (done < n) {
		ssize_t w = write(fd, text + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			errno = e;
			return fs_fail(L, path);
		}
		done += (size_t)w;
	}
	int synced = fsync(fd) == 0, e = errno;
	if (close(fd) != 0 && synced)
		synced = 0, e = errno;
	if (!synced || rename(tmp, path) != 0) {
		if (synced)
			e = errno;
		unlink(tmp);
		errno = e;
		return fs_fail(L, path);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* fs.exists(path) -> boolean */
static int fs_exists(lua_State *L)
{
	struct stat st;
	lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0);
	return 1;
}

/* Every name but . and .. */
static int not_dots(const struct dirent *e)
{
	return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* fs.list(dir) -> names sorted by byte (no . and ..) | nil, message */
static int fs_list(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct dirent **names;
	int n = scandir(path, &names, not_dots, alphasort);   /* C locale: byte order */
	if (n < 0)
		return fs_fail(L, path);
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushstring(L, names[i]->d_name);
		lua_rawseti(L, -2, i + 1);
		free(names[i]);
	}
	free(names);
	return 1;
}

/* fs.mkdir(path) -> true | nil, message: with its parents, like mkdir -p. */
static int fs_mkdir(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	host_outside(L, "fs.mkdir");
	struct stat st;
	lua_pushfstring(L, "%s/x", path);
	if (path_make_parent(lua_tostring(L, -1)) != 0 || stat(path, &st) != 0)
		return fs_fail(L, path);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return fs_fail(L, path);
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* fs.remove(path) -> true | nil, message: a file or an empty folder. */
static int fs_remove(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	host_outside(L, "fs.remove");
	if (remove(path) != 0)
		return fs_fail(L, path);
	lua_pushboolean(L, 1);
	return 1;
}

/* fs.glob(pattern) -> the matching paths, sorted (empty when none) | nil, message */
static int fs_glob(lua_State *L)
{
	const char *pattern = luaL_checkstring(L, 1);
	glob_t g;
	int rc;
	memset(&g, 0, sizeof g);
	rc = glob(pattern, 0, NULL, &g);
	if (rc != 0 && rc != GLOB_NOMATCH) {
		globfree(&g);
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", pattern, rc == GLOB_NOSPACE ? "out of memory" : "cannot read a folder");
		return 2;
	}
	lua_createtable(L, (int)g.gl_pathc, 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		lua_pushstring(L, g.gl_pathv[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	globfree(&g);
	return 1;
}

static const luaL_Reg fs_funcs[] = {
	{ "read", fs_read },
	{ "write", fs_write },
	{ "exists", fs_exists },
	{ "list", fs_list },
	{ "mkdir", fs_mkdir },
	{ "remove", fs_remove },
	{ "glob", fs_glob },
	{ NULL, NULL },
};

int luaopen_fs(lua_State *L)
{
	luaL_newlib(L, fs_funcs);
	return 1;
}
