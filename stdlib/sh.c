/* sh.c: the sh module: run commands without a shell or through /bin/sh. */
#include "../host/child.h"
#include "../host/host.h"
#include "stdlib.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define STDERR_TAIL 400       /* bytes of stderr quoted in an error */
#define KILL_GRACE_MS 2000    /* from SIGTERM to SIGKILL when a command times out */

/* One command: what it needs, and what it gave. */
typedef struct Command {
	char **argv;
	char **envp;
	const char *cwd;
	const char *input;        /* stdin's text, or NULL for /dev/null */
	size_t ninput;
	int timeout_ms;           /* 0: none */
	const char *shown;        /* the command in messages, when not argv */
	Buf out, err;
	int code;                 /* exit status, or 128 + the signal */
	int timed_out, interrupted;
} Command;

/*
 * Pointers to the strings of the Lua list at idx (numbers made strings),
 * NULL-terminated, in a userdata pushed on the stack ([-0, +1]) that also
 * holds the strings.
 */
static char **string_array(lua_State *L, int idx, const char *what)
{
	int n = (int)lua_rawlen(L, idx);
	char **v;
	if (n == 0)
		luaL_error(L, "%s: the command is empty", what);
	lua_createtable(L, n, 0);   /* holds the strings (numbers made strings) */
	v = lua_newuserdatauv(L, sizeof *v * (size_t)(n + 1), 1);
	lua_insert(L, -2);
	lua_setiuservalue(L, -2, 1);   /* the array keeps its strings alive */
	lua_getiuservalue(L, -1, 1);
	for (int i = 1; i <= n; i++) {
		if (lua_rawgeti(L, idx, i) != LUA_TSTRING && !lua_isnumber(L, -1))
			luaL_error(L, "%s: argument %d is a %s, not a string", what, i, luaL_typename(L, -1));
		v[i - 1] = (char *)lua_tostring(L, -1);
		lua_rawseti(L, -2, i);
	}
	lua_pop(L, 1);
	v[n] = NULL;
	return v;
}

/*
 * The child's environment: ours, with the names in the table at env set
 * (false removes one). Pushes the list of "NAME=value" strings and the
 * array ([-0, +2]).
 */
static char **environment(lua_State *L, int env)
{
	int n = 0;
	lua_newtable(L);
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		lua_pushlstring(L, *e, (size_t)(eq - *e));
		if (lua_rawget(L, env) != LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		lua_pop(L, 1);
		lua_pushstring(L, *e);
		lua_rawseti(L, -2, ++n);
	}
	lua_pushnil(L);
	while (lua_next(L, env)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "sh: env names must be strings");
		if (lua_toboolean(L, -1)) {
			if (!lua_isstring(L, -1))
				luaL_error(L, "sh: env %s must be a string", lua_tostring(L, -2));
			lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
			lua_rawseti(L, -4, ++n);
		}
		lua_pop(L, 1);
	}
	return string_array(L, lua_gettop(L), "sh");
}

/* Read the options at opts into c; values pushed on the stack stay there. */
static void command_options(lua_State *L, int opts, Command *c, int *check)
{
	*check = 1;
	if (lua_isnoneornil(L, opts))
		return;
	luaL_checktype(L, opts, LUA_TTABLE);
	if (lua_getfield(L, opts, "check") != LUA_TNIL)
		*check = lua_toboolean(L, -1);
	if (lua_getfield(L, opts, "cwd") != LUA_TNIL)
		c->cwd = luaL_checkstring(L, -1);
	if (lua_getfield(L, opts, "stdin") != LUA_TNIL)
		c->input = luaL_checklstring(L, -1, &c->ninput);
	if (lua_getfield(L, opts, "timeout") != LUA_TNIL) {
		lua_Number t = luaL_checknumber(L, -1);
		luaL_argcheck(L, t > 0 && t <= 2073600, opts, "timeout must be above 0 and at most 2073600 s (24 days)");
		c->timeout_ms = (int)(t * 1000 + 0.5);
		if (c->timeout_ms < 1)
			c->timeout_ms = 1;
	}
	if (lua_getfield(L, opts, "env") != LUA_TNIL) {
		luaL_checktype(L, -1, LUA_TTABLE);
		c->envp = environment(L, lua_gettop(L));
	}
}

/* Append what fd has to b; 0 at end of file. */
static int drain(int fd, Buf *b)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof chunk);
	if (n > 0) {
		buf_add(b, chunk, (size_t)n);
		return 1;
	}
	return n < 0 && (errno == EAGAIN || errno == EINTR);
}

/*
 * Start the command and wait for it, feeding stdin and reading both
 * outputs as they come (no deadlock on large output). The command leads
 * a process group of its own that ends with the host, even by kill -9.
 * Returns 0, or an errno when it could not be started.
 */
static int command_run(Command *c)
{
	int in[2] = { -1, -1 }, out[2], err[2], rc;
	ChildSpec spec;
	pid_t pid;
	size_t written = 0;
	int64_t deadline = c->timeout_ms ? clock_mono_ms() + c->timeout_ms : 0;
	int status;

	if (pipe2(out, O_CLOEXEC) != 0)
		return errno;
	if (pipe2(err, O_CLOEXEC) != 0) {
		rc = errno;
		close(out[0]), close(out[1]);
		return rc;
	}
	if (c->input && pipe2(in, O_CLOEXEC) != 0) {
		rc = errno;
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return rc;
	}
	memset(&spec, 0, sizeof spec);
	spec.argv = c->argv;
	spec.envp = c->envp;
	spec.cwd = c->cwd;
	spec.in = c->input ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
	spec.out = out[1];
	spec.err = err[1];
	spec.group = 1;
	pid = child_start(&spec);
	rc = pid < 0 ? errno : 0;
	close(out[1]);
	close(err[1]);
	if (spec.in >= 0)
		close(spec.in);
	if (pid < 0) {
		close(out[0]), close(err[0]);
		if (c->input)
			close(in[1]);
		return rc;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	if (c->input)
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (c->input && c->ninput == 0)
		close(in[1]), in[1] = -1;

	/*
	 * Ctrl-C and SIGTERM stay blocked but while ppoll waits, so one that
	 * comes between the check and the wait still ends the wait. SIGPIPE
	 * stays blocked: a command that stops reading its stdin fails our
	 * write, it does not kill the host.
	 */
	sigset_t stop, waiting, pipe_only, unblocked;
	host_stop_signals(&stop);
	sigprocmask(SIG_BLOCK, &stop, &waiting);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_only, NULL);
	unblocked = waiting;   /* what ppoll lets in: the stop signals, not SIGPIPE */
	sigaddset(&unblocked, SIGPIPE);
	int open_out = 1, open_err = 1;
	while (open_out || open_err) {
		if (host_interrupted && !c->interrupted) {
			c->interrupted = 1;
			child_signal(pid, SIGKILL);
		}
		struct pollfd p[3] = {
			{ open_out ? out[0] : -1, POLLIN, 0 },
			{ open_err ? err[0] : -1, POLLIN, 0 },
			{ in[1], POLLOUT, 0 },
		};
		int wait_ms = -1;
		if (deadline) {
			int64_t left = deadline - clock_mono_ms();
			if (left <= 0) {
				child_signal(pid, c->timed_out ? SIGKILL : SIGTERM);
				c->timed_out = 1;
				deadline = clock_mono_ms() + KILL_GRACE_MS;
				continue;
			}
			wait_ms = (int)left;
		}
		struct timespec ts = { wait_ms / 1000, (long)(wait_ms % 1000) * 1000000 };
		if (ppoll(p, 3, wait_ms < 0 ? NULL : &ts, &unblocked) < 0)
			continue;   /* EINTR: the loop looks at host_interrupted */
		if (p[0].revents)
			open_out = drain(out[0], &c->out);
		if (p[1].revents)
			open_err = drain(err[0], &c->err);
		if (in[1] >= 0 && p[2].revents) {
			ssize_t w = write(in[1], c->input + written, c->ninput - written);
			if (w > 0)
				written += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == c->ninput)
				close(in[1]), in[1] = -1;   /* done, or the command stopped reading */
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	close(err[0]);
	/* A SIGPIPE our writes caused is ours to drop, not the script's. */
	struct timespec now = { 0, 0 };
	while (sigtimedwait(&pipe_only, NULL, &now) == SIGPIPE)
		;
	sigprocmask(SIG_SETMASK, &waiting, NULL);
	status = child_wait(pid);
	c->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

/* The command as people would type it, for messages ([-0, +1]). */
static const char *command_text(lua_State *L, char **argv)
{
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; argv[i]; i++) {
		if (i)
			luaL_addchar(&b, ' ');
		if (argv[i][0] && !strpbrk(argv[i], " \t\n'\"\\$`*?;&|<>()"))
			luaL_addstring(&b, argv[i]);
		else {
			luaL_addchar(&b, '\'');
			for (const char *p = argv[i]; *p; p++) {
				if (*p == '\'')
					luaL_addstring(&b, "'\\''");
				else
					luaL_addchar(&b, *p);
			}
			luaL_addchar(&b, '\'');
		}
	}
	luaL_pushresult(&b);
	return lua_tostring(L, -1);
}

/* Run c; push {code, stdout, stderr} or raise as check says. what names it. */
static int command_finish(lua_State *L, Command *c, int check, const char *what)
{
	int rc = command_run(c);
	if (rc) {
		buf_free(&c->out);
		buf_free(&c->err);
		return host_error(L, "%s: cannot run %s: %s", what, c->argv[0], strerror(rc));
	}
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, c->code);
	lua_setfield(L, -2, "code");
	lua_pushlstring(L, buf_str(&c->out), c->out.len);
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, buf_str(&c->err), c->err.len);
	lua_setfield(L, -2, "stderr");
	size_t tail = c->err.len > STDERR_TAIL ? c->err.len - STDERR_TAIL : 0;
	lua_pushlstring(L, buf_str(&c->err) + tail, c->err.len - tail);   /* for the message */
	buf_free(&c->out);
	buf_free(&c->err);
	const char *text = c->shown ? lua_pushstring(L, c->shown) : command_text(L, c->argv);
	if (c->interrupted)
		host_raise_interrupt(L, "interrupted while running %s", text);
	if (c->timed_out)
		return host_error(L, "%s: %s timed out after %f s", what, text, (lua_Number)c->timeout_ms / 1000);
	if (check && c->code != 0)
		return host_error(L, "%s: %s exited with %d%s%s", what, text, c->code,
		                  lua_rawlen(L, -2) ? ": " : "", lua_tostring(L, -2));
	lua_pop(L, 1);
	lua_pop(L, 1);
	return 1;
}

/* sh.run({argv...} [, opts]) -> {code, stdout, stderr}: no shell in between. */
static int sh_run(lua_State *L)
{
	Command c;
	int check;
	memset(&c, 0, sizeof c);
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 2);
	c.argv = string_array(L, 1, "sh.run");
	command_options(L, 2, &c, &check);
	host_outside(L, "sh.run");
	return command_finish(L, &c, check, "sh.run");
}

/* sh(cmdline [, opts]) -> {code, stdout, stderr}: through /bin/sh -c. */
static int sh_call(lua_State *L)
{
	Command c;
	int check;
	memset(&c, 0, sizeof c);
	luaL_checkstring(L, 2);
	lua_settop(L, 3);
	lua_createtable(L, 3, 0);
	lua_pushliteral(L, "/bin/sh");
	lua_rawseti(L, -2, 1);
	lua_pushliteral(L, "-c");
	lua_rawseti(L, -2, 2);
	lua_pushvalue(L, 2);
	lua_rawseti(L, -2, 3);
	c.argv = string_array(L, lua_gettop(L), "sh");
	c.shown = lua_tostring(L, 2);
	command_options(L, 3, &c, &check);
	host_outside(L, "sh");
	return command_finish(L, &c, check, "sh");
}

static const luaL_Reg sh_funcs[] = {
	{ "run", sh_run },
	{ NULL, NULL },
};

int luaopen_sh(lua_State *L)
{
	luaL_newlib(L, sh_funcs);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, sh_call);
	lua_setfield(L, -2, "__call");
	lua_setmetatable(L, -2);
	return 1;
}
