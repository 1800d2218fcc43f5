/* prompt.c: asks people: the prompt's text, an answer line from the terminal or standard input. */
#include "prompt.h"
#include "answer.h"
#include "terminal.h"
#include "remote.h"
#include "../stdlib/stdlib.h"

#include <lauxlib.h>
#include <stdlib.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#define ECHO_MAX 200          /* piped answers are echoed up to this length */
#define WRONG_ANSWERS_MAX 3   /* in a row, without a terminal */

/* Bytes stdin's buffer holds already: glibc's FILE, read as gnulib's freadahead does. */
static size_t stdin_buffered(void)
{
	return (size_t)(stdin->_IO_read_end - stdin->_IO_read_ptr);
}

/*
 * Show prompt on stderr and read one line from stdin (the terminal, or the
 * piped lines; not at all when from_stdin is 0), while looking for an
 * answer from elsewhere when the step waits visibly (h->wait). Returns
 * PROMPT_LINE with the line (no newline) in out, PROMPT_REMOTE with an
 * answer from elsewhere pushed and its how in *how, PROMPT_EOF at end of
 * input, PROMPT_INTERRUPTED on Ctrl-C or SIGTERM, PROMPT_TIMEOUT when
 * timeout_ms (if not 0) passed first.
 */
static int read_line(lua_State *L, Host *h, const Spec *sp, const char *prompt, int from_stdin, Buf *out,
                     const char **how)
{
	int64_t deadline = sp->timeout_ms ? clock_mono_ms() + sp->timeout_ms : -1;
	int rc;
	if (sp->secret && h->tty)
		terminal_echo_off();   /* before the prompt shows: nothing typed after it is echoed */
	fputs(prompt, stderr);
	fflush(stderr);
	buf_reset(out);
	for (;;) {
		/* Wait only when nothing is buffered: a signal, the timeout or a word from elsewhere ends the wait. */
		int64_t left = deadline < 0 ? -1 : deadline > clock_mono_ms() ? deadline - clock_mono_ms() : 0;
		int ready, fd2 = -1;
		if (from_stdin && stdin_buffered()) {
			ready = host_interrupted ? -1 : 1;
		} else {
			int64_t wait = left;
			if (h->wait) {
				int64_t next = remote_next_ms(h, &fd2);
				if (wait < 0 || next < wait)
					wait = next;
			}
			ready = host_wait2(from_stdin ? STDIN_FILENO : -1, fd2, wait);
			if (h->wait && (ready == 2 || (ready == 0 && (deadline < 0 || clock_mono_ms() < deadline)))) {
				if ((*how = remote_poll(L, h, sp))) {
					rc = PROMPT_REMOTE;
					if (h->tty)
						tcflush(STDIN_FILENO, TCIFLUSH);   /* half a line typed meanwhile is not the next answer */
					break;
				}
				continue;
			}
		}
		if (ready <= 0) {
			rc = ready < 0 ? PROMPT_INTERRUPTED : PROMPT_TIMEOUT;
			break;
		}
		int c = getc(stdin);
		if (c == EOF) {
			if (ferror(stdin) && errno == EINTR) {
				clearerr(stdin);
				continue;
			}
			rc = out->len > 0;
			if (!rc && h->tty)
				fputc('\n', stderr);
			break;
		}
		if (c == '\n') {
			rc = 1;
			break;
		}
		buf_addc(out, (char)c);
	}
	terminal_restore();
	if (rc == 1 && out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	/* Piped answers are not echoed by a terminal: show them, so logs read well. */
	if (rc == 1 && !h->tty)
		fprintf(stderr, "%.*s%s\n", sp->secret ? 0 : ECHO_MAX, buf_str(out),
		        !sp->secret && out->len > ECHO_MAX ? "..." : "");
	if (rc == PROMPT_INTERRUPTED || rc == PROMPT_TIMEOUT)
		fputc('\n', stderr);
	return rc;
}

/* Write the prompt for a manual step into b. */
static void prompt_text(lua_State *L, Host *h, const Spec *sp, int occurrence, Buf *b)
{
	const char *instructions = lua_tostring(L, 2);
	Buf shown = { 0 };
	buf_reset(b);
	buf_addf(b, "\n== manual step: %s", sp->name);
	if (occurrence > 1)
		buf_addf(b, " #%d", occurrence);
	buf_adds(b, " ==\n");
	if (*instructions) {
		buf_adds(b, instructions);
		if (instructions[strlen(instructions) - 1] != '\n')
			buf_addc(b, '\n');
	}
	if (h->step.inputs.len)
		buf_addf(b, "  inputs: %s\n", buf_str(&h->step.inputs));
	for (int i = 1; i <= sp->nchoices; i++) {
		lua_rawgeti(L, sp->choices, i);
		buf_addf(b, "  %d) %s\n", i, lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	buf_adds(b, sp->name);
	switch (sp->type) {
	case T_DONE: buf_adds(b, " [Enter when done]"); break;
	case T_NUMBER: buf_adds(b, " [number]"); break;
	case T_BOOLEAN:   /* the default in capitals, as people know it */
		buf_adds(b, !sp->def ? " [y/n]" : lua_toboolean(L, sp->def) ? " [Y/n]" : " [y/N]");
		break;
	case T_CHOICE: buf_addf(b, " [1-%d]", sp->nchoices); break;
	case T_JSON: buf_adds(b, " [JSON]"); break;
	default: break;
	}
	if (sp->def && sp->type != T_DONE && (sp->type != T_BOOLEAN || sp->proposed)) {
		size_t mark = b->len;
		buf_adds(b, sp->proposed ? " (the candidate proposes " : " (default ");
		if (lua_type(L, sp->def) == LUA_TSTRING)
			buf_adds(b, lua_tostring(L, sp->def));
		else if (codec_encode(L, sp->def, b, &h->step.why)) {
			b->len = mark;
			buf_adds(b, " (default ?");
		}
		buf_addc(b, ')');
	}
	if (sp->timeout_ms)
		buf_addf(b, " (the default in %g s)", sp->timeout_ms / 1000.0);
	if (sp->secret)
		buf_adds(b, " (hidden)");
	buf_adds(b, "> ");
	/* Instructions, choices, a default: a secret in any of them is shown hidden. */
	if (secrets_hide(&h->secrets, b->data, b->len, &shown)) {
		Buf t = *b;
		*b = shown;
		shown = t;
	}
	buf_free(&shown);
}

/*
 * POST {pipeline, run, step, occurrence, instructions, inputs, text, url}
 * to notify: text is what a chat's incoming webhook shows (Slack,
 * Mattermost, Discord take it), with the link to the page that answers it
 * ($UNDERSTUDY_URL, else the address serve --url gave the history). A
 * failure only warns.
 */
static void notify_waiting(lua_State *L, Host *h, const Spec *sp, int occurrence)
{
	int top = lua_gettop(L);
	const char *env = getenv("UNDERSTUDY_URL");
	Buf url = { 0 };
	if (env && *env)
		buf_adds(&url, env);
	else if (h->store->m->setting_get(h->store, "serve_url", &url) < 0)
		buf_reset(&url);
	while (url.len && url.data[url.len - 1] == '/')
		url.data[--url.len] = '\0';
	lua_createtable(L, 0, 8);
	lua_pushstring(L, h->pipeline);
	lua_setfield(L, -2, "pipeline");
	lua_pushinteger(L, h->run);
	lua_setfield(L, -2, "run");
	lua_pushstring(L, sp->name);
	lua_setfield(L, -2, "step");
	lua_pushinteger(L, occurrence);
	lua_setfield(L, -2, "occurrence");
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, "instructions");
	if (sp->inputs) {
		lua_pushvalue(L, sp->inputs);
		lua_setfield(L, -2, "inputs");
	}
	if (url.len) {
		lua_pushfstring(L, "%s/", buf_str(&url));
		lua_setfield(L, -2, "url");
		lua_pushfstring(L, "%s: step \"%s\" of run %I waits for a person. Answer it at %s/", h->pipeline, sp->name,
		                (lua_Integer)h->run, buf_str(&url));
	} else {
		lua_pushfstring(L, "%s: step \"%s\" of run %I waits for a person. Answer it with: understudy answer %I '%s' VALUE",
		                h->pipeline, sp->name, (lua_Integer)h->run, (lua_Integer)h->run, sp->name);
	}
	lua_setfield(L, -2, "text");
	buf_free(&url);
	buf_reset(&h->step.line);
	CodecOptions hide = { &h->secrets, 0, 0, 0 };
	if (codec_encode_as(L, -1, &h->step.line, &h->step.reason, &hide) == 0 &&
	    notify_post(sp->notify, buf_str(&h->step.line), &h->step.reason) != 0)
		fputs(host_hide_secrets(L, lua_pushfstring(L, "understudy: warning: step \"%s\": notify %s failed: %s\n",
		                                           sp->name, sp->notify, buf_str(&h->step.reason))), stderr);
	lua_settop(L, top);
}

/* Ask again with the prompt's last line only. */
static void last_line(Buf *prompt)
{
	const char *last = strrchr(buf_str(prompt), '\n');
	if (last) {
		size_t skip = (size_t)(last + 1 - prompt->data);
		memmove(prompt->data, prompt->data + skip, prompt->len - skip + 1);
		prompt->len -= skip;
	}
}

/* Is UNDERSTUDY_WAIT=1 set, or --wait given? */
static int wait_asked(const Host *h)
{
	const char *env = getenv("UNDERSTUDY_WAIT");
	return h->opt->wait || (env && strcmp(env, "1") == 0);
}

/*
 * Ask until a valid answer comes, and push it. Returns how it was
 * answered: prompt, stdin, web or remote (who in h->step.by), or default
 * when the timeout passed. On a terminal, or with --wait, the step is
 * visible as waiting until the caller ends it (remote_wait_end).
 */
const char *prompt_answer(lua_State *L, Host *h, const Spec *sp, int occurrence)
{
	Buf *prompt = &h->step.prompt, *reason = &h->step.reason;
	int wrong = 0, from_stdin = h->tty || !wait_asked(h);
	const char *how = NULL;
	if (!from_stdin && sp->secret)
		host_fail(L, EXIT_USAGE, "step \"%s\" is secret: it is answered only at a terminal or with --answer '%s=VALUE'",
		          sp->name, sp->name);
	if (h->tty || !from_stdin)
		remote_wait_begin(L, h, sp, occurrence);
	buf_reset(&h->step.note);   /* a note typed at this prompt: "note: TEXT" */
	if (sp->notify)
		notify_waiting(L, h, sp, occurrence);
	prompt_text(L, h, sp, occurrence, prompt);
	if (!from_stdin) {
		/* Before the prompt's last line: how to answer, when nobody can here. */
		const char *last = strrchr(buf_str(prompt), '\n');
		size_t at = last ? (size_t)(last + 1 - prompt->data) : 0;
		Buf rest = { 0 };
		buf_adds(&rest, prompt->data + at);
		prompt->len = at;
		buf_addf(prompt, "  (waiting for an answer from elsewhere: understudy answer %lld '%s' VALUE)\n",
		         (long long)h->run, sp->name);
		buf_adds(prompt, buf_str(&rest));
		buf_free(&rest);
	}
	for (;;) {
		int rc = read_line(L, h, sp, buf_str(prompt), from_stdin, &h->step.line, &how);
		if (rc == PROMPT_REMOTE)
			return how;
		if (rc == PROMPT_TIMEOUT) {
			fprintf(stderr, "  (no answer in %g s: the default is taken)\n", sp->timeout_ms / 1000.0);
			lua_pushvalue(L, sp->def);
			return "default";
		}
		if (rc == PROMPT_INTERRUPTED || rc == PROMPT_EOF)
			remote_wait_end(h, "interrupted", NULL, NULL);
		if (rc == PROMPT_INTERRUPTED)
			host_raise_interrupt(L, "interrupted at step \"%s\"", sp->name);
		if (rc == PROMPT_EOF)
			host_raise_interrupt(L, "end of input at step \"%s\"; answer it with --answer '%s=VALUE'",
			                     sp->name, sp->name);
		if (strncasecmp(buf_str(&h->step.line), "note:", 5) == 0 && !sp->secret) {
			/* A note goes with the answer still to come; the prompt asks again. */
			const char *text = buf_str(&h->step.line) + 5;
			buf_reset(&h->step.note);
			buf_adds(&h->step.note, text + strspn(text, " \t"));
			fprintf(stderr, "  (noted; now the answer)\n");
			last_line(prompt);
			continue;
		}
		if (answer_parse(L, h, sp, buf_str(&h->step.line), h->step.line.len, reason) == 0) {
			if (answer_accept(L, h, sp, reason) == 0)
				break;
			lua_pop(L, 1);
		}
		/* Lines from a file or a pipe do not get better by asking again: three wrong ones end the run. */
		if (!h->tty && ++wrong == WRONG_ANSWERS_MAX) {
			remote_wait_end(h, "interrupted", NULL, NULL);
			host_fail(L, EXIT_USAGE, "step \"%s\": %d wrong answers in a row from standard input, the last: %s;"
			          " answer it with --answer '%s=VALUE'", sp->name, wrong, buf_str(reason), sp->name);
		}
		fprintf(stderr, "  ! %s\n", buf_str(reason));
		last_line(prompt);
	}
	return h->tty ? "prompt" : "stdin";
}
