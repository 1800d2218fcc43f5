/* repl.c: the interactive prompt: Lua with manual() and auto(), recorded as a run. */
#include "host.h"
#include "path.h"
#include "views.h"
#include "run.h"
#include "repl.h"
#include "terminal.h"
#include "edit.h"

#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PROMPT "> "
#define PROMPT2 ">> "
#define HISTORY_LINES 1000
#define MAX_MATCHES 1000
#define CHUNK_DOT_COMMAND (-2)   /* read_chunk: the line is a dot-command */

static int edited;                  /* lines come through libedit: a terminal, and libedit loaded */
static lua_State *repl_state;       /* for the completion callback */
static char *matches[MAX_MATCHES + 1];
static int nmatches;

static const char *const keywords[] = {
	"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
	"in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL,
};

static const char *const dot_commands[] = {
	".help", ".load", ".runs", ".history", ".report", ".quit", NULL,
};

static const char help_text[] =
	"Lua 5.4 with manual() and auto(); every step is recorded as a run of this\n"
	"session's pipeline. An expression prints its value; an unfinished statement\n"
	"continues on the next line. Ctrl-C stops running code; Ctrl-D leaves.\n"
	"  .help            this text\n"
	"  .load FILE       run a Lua file here\n"
	"  .runs            this pipeline's runs\n"
	"  .history STEP    every recorded execution of a step of this pipeline\n"
	"  .report          what to automate next in this pipeline\n"
	"  .quit            leave\n";

/* Columns of the terminal on stdout, 80 when it is not one. */
static int terminal_width(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Add a candidate to the completion list, if it starts with prefix. */
static void match_add(const char *prefix, const char *base, const char *word)
{
	size_t n = strlen(prefix);
	if (nmatches >= MAX_MATCHES || strncmp(word, prefix, n) != 0)
		return;
	size_t len = strlen(base) + strlen(word) + 1;
	char *m = malloc(len);
	if (!m)
		return;
	snprintf(m, len, "%s%s", base, word);
	matches[nmatches++] = m;
}

static int is_identifier(const char *s)
{
	if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	for (s++; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* Add the string keys of the table on top (raw: no code runs) that start with prefix. */
static void match_keys(lua_State *L, const char *prefix, const char *base)
{
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING && is_identifier(lua_tostring(L, -1)))
			match_add(prefix, base, lua_tostring(L, -1));
	}
}

/*
 * Collect completions for word (upvalue-free C function run protected).
 * "str" completes globals and keywords; "a.b.c" and "a.b:c" walk the tables
 * with raw access, and the __index table of a metatable, never calling code.
 */
static int collect_matches(lua_State *L)
{
	const char *word = lua_tostring(L, 1);
	const char *last = NULL;
	for (const char *p = word; *p; p++)
		if (*p == '.' || *p == ':')
			last = p;
	if (!last) {
		for (int i = 0; keywords[i]; i++)
			match_add(word, "", keywords[i]);
		lua_pushglobaltable(L);
		match_keys(L, word, "");
		return 0;
	}
	/* Walk the path before the last separator. */
	lua_pushglobaltable(L);
	const char *p = word;
	while (p < last) {
		size_t n = strcspn(p, ".:");
		if (p + n > last)
			n = (size_t)(last - p);
		lua_pushlstring(L, p, n);
		if (lua_istable(L, -2))
			lua_rawget(L, -2);
		else {
			lua_pop(L, 1);
			lua_pushnil(L);
		}
		lua_remove(L, -2);
		p += n + 1;
	}
	lua_pushlstring(L, word, (size_t)(last - word) + 1);
	const char *base = lua_tostring(L, -1);
	lua_insert(L, -2);
	if (lua_istable(L, -1))
		match_keys(L, last + 1, base);
	if (lua_getmetatable(L, -1)) {
		lua_pushliteral(L, "__index");
		lua_rawget(L, -2);
		if (lua_istable(L, -1))
			match_keys(L, last + 1, base);
	}
	return 0;
}

/* libedit asks for the next match: hand them out in order. */
static char *next_match(const char *text, int state)
{
	static int i;
	(void)text;
	if (state == 0)
		i = 0;
	return i < nmatches ? strdup(matches[i++]) : NULL;
}

/* libedit's completion callback: no Lua error may escape it. */
static char **complete(const char *text, int start, int end)
{
	lua_State *L = repl_state;
	(void)end;
	for (int i = 0; i < nmatches; i++)
		free(matches[i]);
	nmatches = 0;
	*ed.rl_attempted_completion_over = 1;
	if (start == 0 && text[0] == '.') {
		for (int i = 0; dot_commands[i]; i++)
			match_add(text, "", dot_commands[i]);
	} else {
		lua_pushcfunction(L, collect_matches);
		lua_pushstring(L, text);
		if (lua_pcall(L, 1, 0, 0) != LUA_OK)
			lua_pop(L, 1);
	}
	if (nmatches == 0)
		return NULL;
	*ed.rl_completion_append_character = '\0';
	return ed.rl_completion_matches(text, next_match);
}

/*
 * libedit reads each character through this: a wait that a Ctrl-C ends
 * even when it came before the wait began (it gives end of input, and
 * read_line sees the interruption). UTF-8 comes back as one code point.
 */
static int repl_getc(FILE *f)
{
	int c;
	if (!terminal_pending() && host_wait(fileno(f), -1) < 0)
		return EOF;
	while ((c = terminal_read_point(fileno(f))) == -2)
		if (host_interrupted)
			return EOF;
	return c < 0 ? EOF : c;
}

/*
 * Read one line: from libedit on a terminal, else from stdin. Pushes it
 * ([-0, +1]) and returns 1, or returns 0 at end of input. Ctrl-C at the
 * prompt gives an empty line.
 */
static int read_line(lua_State *L, Host *h, int first)
{
	if (edited) {
		char *line = ed.readline(first ? PROMPT : PROMPT2);
		if (!line) {
			if (host_interrupted) {
				host_interrupt_forget(L);
				fputc('\n', stdout);
				lua_pushliteral(L, "");
				return 1;
			}
			return 0;
		}
		lua_pushstring(L, line);
		free(line);
		return 1;
	}
	buf_reset(&h->line);
	for (;;) {
		int c = getc(stdin);
		if (c == EOF) {
			if (h->line.len == 0)
				return 0;
			break;
		}
		if (c == '\n')
			break;
		buf_addc(&h->line, (char)c);
	}
	lua_pushlstring(L, buf_str(&h->line), h->line.len);
	return 1;
}

/* Is the status and message on top a syntax error that more lines could finish? */
static int incomplete(lua_State *L, int status)
{
	size_t n;
	const char *msg;
	if (status != LUA_ERRSYNTAX)
		return 0;
	msg = lua_tolstring(L, -1, &n);
	return n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

/*
 * Read a whole chunk: tries "return LINE" first so expressions print,
 * continues while the chunk is unfinished. Pushes the compiled function,
 * or an error message; returns the load status, -1 at end of input, or
 * CHUNK_DOT_COMMAND.
 * The chunk's text is left below the function, for the history.
 */
static int read_chunk(lua_State *L, Host *h)
{
	int status;
	if (!read_line(L, h, 1))
		return -1;
	const char *line = lua_tostring(L, -1);
	if (line[0] == '.')
		return CHUNK_DOT_COMMAND;   /* the line is left on top */
	lua_pushfstring(L, "return %s;", line);
	status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
	lua_remove(L, -2);
	if (status == LUA_OK)
		return status;
	lua_pop(L, 1);
	for (;;) {
		status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
		if (!incomplete(L, status))
			return status;
		if (!read_line(L, h, 0))
			return status;   /* unfinished at end of input: its error is on top */
		lua_remove(L, -2);   /* the error */
		lua_pushliteral(L, "\n");
		lua_insert(L, -2);
		lua_concat(L, 3);
	}
}

/* Print the values from index first to the top with lua/pretty.lua. */
static void print_values(lua_State *L, int first)
{
	int n = lua_gettop(L) - first + 1;
	if (n <= 0)
		return;
	lua_getfield(L, LUA_REGISTRYINDEX, "understudy.pretty");
	lua_insert(L, first);
	lua_pushinteger(L, terminal_width());
	lua_insert(L, first + 1);
	if (host_pcall(L, n + 1, 1) == LUA_OK)
		fprintf(stdout, "%s\n", lua_tostring(L, -1));
	else
		fprintf(stderr, "(cannot show the value: %s)\n", host_error_text(L, -1));
	fflush(stdout);
	lua_pop(L, 1);
}

/* Forget an interruption or failure once it has been reported: the prompt goes on. */
static void forget_error(lua_State *L, Host *h)
{
	host_interrupt_forget(L);
	(void)h;
}

/* Run the function below nargs arguments; print its results, or its error and traceback. */
static void run_chunk(lua_State *L, Host *h, int nargs)
{
	int base = lua_gettop(L) - nargs;
	if (host_pcall(L, nargs, LUA_MULTRET) == LUA_OK) {
		print_values(L, base);
	} else if (host_interrupted || host_error_code(L, -1) != EXIT_FAILED) {
		fprintf(stderr, "%s\n", host_error_text(L, -1));   /* Ctrl-C, a misuse: the message says it all */
	} else {
		const char *trace = host_error_trace(L, -1);
		fprintf(stderr, "%s\n%s\n", host_error_text(L, -1), trace ? trace : buf_str(&h->traceback));
	}
	forget_error(L, h);
	lua_settop(L, base - 1);
}

/* A view of this pipeline's record: .runs, .history STEP, .report. */
static void dot_view(lua_State *L, Host *h, const char *command, const char *step)
{
	Options o = *h->opt;
	const char *words[2] = { h->pipeline, step };
	o.command = command;
	o.words = words;
	o.nwords = step ? 2 : 1;
	o.json = 0;
	if (store_flush(h->store))
		host_fail(L, EXIT_HISTORY, "history unusable: %s", store_error(h->store));
	view_print(L, h, &o);
}

static int dot_view_protected(lua_State *L)
{
	Host *h = host_get(L);
	dot_view(L, h, lua_tostring(L, 1), lua_tostring(L, 2));
	return 0;
}

/* Carry out a dot-command; returns 0 for .quit. */
static int dot_command(lua_State *L, Host *h, const char *line)
{
	char name[32] = "", arg[4096] = "";
	sscanf(line, "%31s %4095[^\n]", name, arg);
	if (strcmp(name, ".quit") == 0 || strcmp(name, ".exit") == 0)
		return 0;
	if (strcmp(name, ".help") == 0) {
		fputs(help_text, stdout);
	} else if (strcmp(name, ".load") == 0) {
		if (!arg[0]) {
			fputs("usage: .load FILE\n", stderr);
		} else if (luaL_loadfilex(L, arg, "t") != LUA_OK) {
			fprintf(stderr, "%s\n", lua_tostring(L, -1));
			lua_pop(L, 1);
		} else {
			run_chunk(L, h, 0);
		}
	} else if (strcmp(name, ".runs") == 0 || strcmp(name, ".report") == 0 || strcmp(name, ".history") == 0) {
		if (strcmp(name, ".history") == 0 && !arg[0]) {
			fputs("usage: .history STEP\n", stderr);
			return 1;
		}
		lua_pushcfunction(L, dot_view_protected);
		lua_pushstring(L, name + 1);
		if (arg[0])
			lua_pushstring(L, arg);
		else
			lua_pushnil(L);
		if (host_pcall(L, 2, 0) != LUA_OK) {
			fprintf(stderr, "%s\n", host_error_text(L, -1));
			lua_pop(L, 1);
		}
		fflush(stdout);
	} else {
		fprintf(stderr, "unknown command %s; .help lists them\n", name);
	}
	return 1;
}

int repl_command(lua_State *L, const Options *opt)
{
	Host *h = host_get(L);
	const char *script = opt->nwords ? opt->words[0] : NULL;
	char hash[65];
	const char *history = NULL;
	int chunk = 0, words, status, code;

	if (script) {
		if ((code = script_load(L, script, hash)) != 0)
			return code;
		chunk = lua_gettop(L);
	}
	lua_createtable(L, 0, 1);
	lua_pushstring(L, script ? script : "repl");
	lua_rawseti(L, -2, 0);
	words = lua_gettop(L);
	answers_load(L, opt);
	host_signals_install(L);
	history_open(L, h, 1);
	h->pipeline = lua_pushstring(L, opt->name ? opt->name : "repl");
	run_begin(L, h, words, script ? hash : NULL);
	if (host_load_embedded(L, "lua/pretty.lua") != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "understudy.pretty");

	edited = h->tty && edit_load();
	if (edited) {
		repl_state = L;
		*ed.rl_readline_name = "understudy";
		*ed.rl_catch_signals = 0;
		*ed.rl_getc_function = repl_getc;
		*ed.rl_attempted_completion_function = complete;
		*ed.rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^#~[]";
		ed.rl_initialize();
		ed.stifle_history(HISTORY_LINES);
		history = host_state_path(L, "repl_history");
		path_make_parent(history);
		ed.read_history(history);
		printf("understudy %s: run %lld of %s; .help for help, Ctrl-D to leave\n",
		       UNDERSTUDY_VERSION, (long long)h->run, h->pipeline);
	}
	if (script) {
		lua_pushvalue(L, chunk);
		run_chunk(L, h, 0);
	}
	for (;;) {
		int top = lua_gettop(L);
		status = read_chunk(L, h);
		if (status == -1)
			break;
		if (edited && lua_rawlen(L, top + 1) > 0)
			ed.add_history(lua_tostring(L, top + 1));
		if (status == CHUNK_DOT_COMMAND) {
			int more = dot_command(L, h, lua_tostring(L, -1));
			lua_settop(L, top);
			if (!more)
				break;
			continue;
		}
		if (status == LUA_OK)
			run_chunk(L, h, 0);
		else
			fprintf(stderr, "%s\n", lua_tostring(L, -1));
		lua_settop(L, top);
	}
	if (edited) {
		fputc('\n', stdout);
		if (ed.write_history(history) != 0)
			fprintf(stderr, "understudy: warning: cannot write %s\n", history);
	}
	if (store_run_finish(h->store, h->run, "ok", NULL) != 0) {
		fprintf(stderr, "understudy: history unusable: %s\n", store_error(h->store));
		return EXIT_HISTORY;
	}
	return EXIT_OK;
}
