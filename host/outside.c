/*
 * outside.c: the standard functions through which a script reaches the
 * outside world, as the host runs them. Each commits the finished steps
 * first (host_outside), so a resume never redoes a side effect; commands
 * are the host's children, ended when the run is interrupted; os.exit
 * finishes the run in the record.
 */
#include "outside.h"
#include "host.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A file of io.popen: Lua's stream, and the command behind it. */
typedef struct Popen {
	luaL_Stream stream;        /* first: io's functions see a luaL_Stream */
	pid_t pid;
} Popen;

/* Call the original function (upvalue 1) with the arguments; its results. */
static int call_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Is mode one that fopen takes, as io.open checks it: [rwa]+?b* */
static int mode_valid(const char *mode)
{
	if (!*mode || !strchr("rwa", *mode++))
		return 0;
	if (*mode == '+')
		mode++;
	return strspn(mode, "b") == strlen(mode);
}

/* io.open(path [, mode]): a file opened for writing is the outside world. */
static int l_open(lua_State *L)
{
	const char *mode = luaL_optstring(L, 2, "r");
	luaL_checkstring(L, 1);
	luaL_argcheck(L, mode_valid(mode), 2, "invalid mode");
	if (strpbrk(mode, "wa+"))
		host_outside(L, "io.open for writing");
	return call_original(L);
}

/* io.output(file): a file name opens it for writing. */
static int l_output(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TSTRING)
		host_outside(L, "io.output");
	return call_original(L);
}

/* os.remove(path) */
static int l_remove(lua_State *L)
{
	luaL_checkstring(L, 1);
	host_outside(L, "os.remove");
	return call_original(L);
}

/* os.rename(from, to) */
static int l_rename(lua_State *L)
{
	luaL_checkstring(L, 1);
	luaL_checkstring(L, 2);
	host_outside(L, "os.rename");
	return call_original(L);
}

/* The results of os.execute and of closing io.popen's file, from a wait status. */
static int exec_result(lua_State *L, int status)
{
	errno = 0;   /* luaL_execresult reads errno */
	return luaL_execresult(L, status);
}

/* os.execute([command]): through /bin/sh, as system() does; an interruption ends it. */
static int l_execute(lua_State *L)
{
	const char *cmd = luaL_optstring(L, 1, NULL);
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	ChildSpec c = { argv, NULL, NULL, -1, -1, -1, 0 };
	pid_t pid;
	int status;
	if (!cmd) {
		lua_pushboolean(L, access("/bin/sh", X_OK) == 0);
		return 1;
	}
	host_outside(L, "os.execute");
	if ((pid = child_start(&c)) < 0)
		return luaL_fileresult(L, 0, NULL);
	status = child_wait(pid);
	if (host_interrupted)
		host_raise_interrupt(L, "interrupted while running %s", cmd);
	return exec_result(L, status);
}

/* The close function of io.popen's files: close, then wait for the command. */
static int popen_close(lua_State *L)
{
	Popen *p = (Popen *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
	int status;
	fclose(p->stream.f);
	status = child_wait(p->pid);
	return exec_result(L, status);
}

/* io.popen(command [, mode]): the command's stdout to read ("r") or stdin to write ("w"). */
static int l_popen(lua_State *L)
{
	const char *cmd = luaL_checkstring(L, 1);
	const char *mode = luaL_optstring(L, 2, "r");
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	ChildSpec c = { argv, NULL, NULL, -1, -1, -1, 0 };
	int fds[2], reading = mode[0] == 'r', ours, e;
	Popen *p;
	luaL_argcheck(L, (mode[0] == 'r' || mode[0] == 'w') && mode[1] == '\0', 2, "invalid mode");
	p = lua_newuserdatauv(L, sizeof *p, 0);
	p->stream.f = NULL;
	p->stream.closef = NULL;   /* closed until it is open */
	luaL_setmetatable(L, LUA_FILEHANDLE);
	host_outside(L, "io.popen");
	if (pipe2(fds, O_CLOEXEC) != 0)
		return luaL_fileresult(L, 0, cmd);
	ours = reading ? fds[0] : fds[1];
	if (reading)
		c.out = fds[1];
	else
		c.in = fds[0];
	p->pid = child_start(&c);
	e = errno;
	close(reading ? fds[1] : fds[0]);
	if (p->pid >= 0 && !(p->stream.f = fdopen(ours, mode))) {
		e = errno;
		close(ours);
		child_wait(p->pid);
		p->pid = -1;
	} else if (p->pid < 0) {
		close(ours);
	}
	if (p->pid < 0) {
		errno = e;
		return luaL_fileresult(L, 0, cmd);
	}
	p->stream.closef = popen_close;
	return 1;
}

/* os.exit([code [, close]]): finish the run in the record first, then exit. */
static int l_exit(lua_State *L)
{
	Host *h = host_get(L);
	int code;
	if (lua_isboolean(L, 1))
		code = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
	else
		code = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
	if (h->store && h->run) {
		const char *error = code ? lua_pushfstring(L, "the script called os.exit(%d)", code) : NULL;
		host_watchdog_ending();
		if (store_run_finish(h->store, h->run, code ? "failed" : "ok", error) != 0) {
			fprintf(stderr, "understudy: history unusable: %s\n", store_error(h->store));
			code = EXIT_HISTORY;
		}
	}
	fflush(stdout);
	if (lua_toboolean(L, 2))
		lua_close(L);
	exit(code);
}

/* Set field name of the table on top to f, with the field's old value as f's upvalue. */
static void replace(lua_State *L, const char *name, lua_CFunction f)
{
	lua_getfield(L, -1, name);
	lua_pushcclosure(L, f, 1);
	lua_setfield(L, -2, name);
}

void outside_open(lua_State *L)
{
	lua_getglobal(L, "io");
	replace(L, "open", l_open);
	replace(L, "output", l_output);
	lua_pushcfunction(L, l_popen);
	lua_setfield(L, -2, "popen");
	lua_getglobal(L, "os");
	replace(L, "remove", l_remove);
	replace(L, "rename", l_rename);
	lua_pushcfunction(L, l_execute);
	lua_setfield(L, -2, "execute");
	lua_pushcfunction(L, l_exit);
	lua_setfield(L, -2, "exit");
	lua_pop(L, 2);
}
