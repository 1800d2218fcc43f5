/* prompt.c: asks people: the prompt's text, an answer line from the terminal (edited with libedit) or standard input. */
#include "prompt.h"
#include "answer.h"
#include "codec.h"
#include "progress.h"
#include "terminal.h"
#include "remote.h"
#include "edit.h"
#include "../stdlib/stdlib.h"

#include <jansson.h>
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
#define TICK_KEY 0x91         /* a character no keyboard sends (U+0091): a second of the countdown passed */
#define PAST_ANSWERS 50       /* a step's past answers that Up brings back */
#define WORDS_MAX 64          /* the answers Tab completes */
#define SHOWN_MAX 1024        /* characters of the prompt's last line the editor shows */

/* What ends a wait for the answer. */
enum { WAIT_INPUT, WAIT_OFFERED, WAIT_TIMEOUT, WAIT_INTERRUPTED, WAIT_TICK };

/* What reading gives beside PROMPT_*: an answer was offered from elsewhere (remote_poll looks at it). */
#define PROMPT_OFFERED 3

/* One prompt being answered: what the wait needs, and why the editor's line ended early. */
typedef struct Asking {
	Host *h;
	const Spec *sp;
	int64_t deadline;          /* monotonic ms when the default is taken; -1: never */
	int from_stdin;            /* the terminal or piped lines; 0: only answers from elsewhere */
	int ended;                 /* the editor's line ended early: WAIT_*; -1: it did not */
	int restore;               /* a line ended early is read on: what was typed stays */
	int more;                  /* the prompt is for a document's next line: no timeout shown */
	Buf *typed;                /* the line read, or typed when it ended early */
	Buf doc;                   /* a JSON document's lines so far, when it spans lines */
	const char *last;          /* the prompt's last line: the editor shows it, with the countdown */
	Buf shown;
	wchar_t wide[SHOWN_MAX];
	struct Editor *editor;     /* the terminal's line editor, or NULL: read as read_plain does */
	const char *words[WORDS_MAX];   /* what Tab completes: the choices, y/n, done/fail */
	int nwords;
} Asking;

/* The line editor of a terminal's prompts, made at the first one and kept by the Host. */
typedef struct Editor {
	EditLine *el;
	HistoryW *history;         /* the step's past answers, for Up */
	FILE *out;                 /* the terminal, written past the streams of progress.c */
} Editor;

/* Bytes stdin's buffer holds already: glibc's FILE, read as gnulib's freadahead does. */
static size_t stdin_buffered(void)
{
	return (size_t)(stdin->_IO_read_end - stdin->_IO_read_ptr);
}

/* Append the UTF-8 of n wide characters to b. */
static void wide_to_utf8(const wchar_t *w, size_t n, Buf *b)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned)w[i];
		if (c >= TERMINAL_RAW_BYTE + 0x80 && c <= TERMINAL_RAW_BYTE + 0xFF) {
			buf_addc(b, (char)(c & 0xFF));   /* typed as a byte that is not UTF-8: kept so, and refused */
		} else if (c < 0x80) {
			buf_addc(b, (char)c);
		} else if (c < 0x800) {
			buf_addc(b, (char)(0xC0 | c >> 6));
			buf_addc(b, (char)(0x80 | (c & 0x3F)));
		} else if (c < 0x10000) {
			buf_addc(b, (char)(0xE0 | c >> 12));
			buf_addc(b, (char)(0x80 | (c >> 6 & 0x3F)));
			buf_addc(b, (char)(0x80 | (c & 0x3F)));
		} else {
			buf_addc(b, (char)(0xF0 | c >> 18));
			buf_addc(b, (char)(0x80 | (c >> 12 & 0x3F)));
			buf_addc(b, (char)(0x80 | (c >> 6 & 0x3F)));
			buf_addc(b, (char)(0x80 | (c & 0x3F)));
		}
	}
}

/* The wide characters of UTF-8 s into w (room for cap, ending with 0); a byte that is not UTF-8 as '?'. */
static void utf8_to_wide(const char *s, wchar_t *w, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k = 0;
	while (i < n && k + 1 < cap) {
		size_t len = codec_utf8_len(u + i, n - i);
		unsigned c;
		if (len == 0) {
			w[k++] = L'?', i++;
			continue;
		}
		c = len == 1 ? u[i] : len == 2 ? u[i] & 0x1Fu : len == 3 ? u[i] & 0x0Fu : u[i] & 0x07u;
		for (size_t j = 1; j < len; j++)
			c = c << 6 | (u[i + j] & 0x3Fu);
		w[k++] = (wchar_t)c;
		i += len;
	}
	w[k] = L'\0';
}

/*
 * Wait for what comes first: input on standard input, an answer offered
 * from elsewhere, the timeout, a signal, or (when tick) the next whole
 * second of the countdown.
 */
static int wait_answer(Asking *a, int tick)
{
	Host *h = a->h;
	for (;;) {
		int64_t now = clock_mono_ms(), wait = -1, tick_at = -1;
		int fd2 = -1, ready;
		if (a->from_stdin && stdin_buffered())
			return host_interrupted ? WAIT_INTERRUPTED : WAIT_INPUT;
		if (a->deadline >= 0) {
			if (now >= a->deadline)
				return WAIT_TIMEOUT;
			wait = a->deadline - now;
			if (tick && wait > 1000) {
				wait = wait % 1000 ? wait % 1000 : 1000;
				tick_at = now + wait;
			}
		}
		if (h->wait) {
			int64_t next = remote_next_ms(h, &fd2);
			if (wait < 0 || next < wait)
				wait = next;
		}
		ready = host_wait2(a->from_stdin ? STDIN_FILENO : -1, fd2, wait);
		if (ready < 0)
			return WAIT_INTERRUPTED;
		if (ready == 1)
			return WAIT_INPUT;
		if (a->deadline >= 0 && clock_mono_ms() >= a->deadline)
			return WAIT_TIMEOUT;
		if (h->wait && (ready == 2 || remote_next_ms(h, &fd2) == 0) && remote_offered(h))
			return WAIT_OFFERED;
		if (tick_at >= 0 && clock_mono_ms() >= tick_at)
			return WAIT_TICK;
	}
}

/* The end of the prompt's last line: the timeout (the seconds left), hidden, and "> ". */
static void prompt_tail(const Asking *a, Buf *b)
{
	if (a->more)
		return;
	if (a->deadline >= 0) {
		int64_t left = a->deadline - clock_mono_ms();
		buf_addf(b, " (the default in %lld s)", (long long)(left > 0 ? (left + 999) / 1000 : 0));
	}
	if (a->sp->secret)
		buf_adds(b, " (hidden)");
	buf_adds(b, "> ");
}

/*
 * Show prompt on stderr and read one line from stdin (the terminal, or
 * the piped lines; not at all when a->from_stdin is 0) into a->typed,
 * without its newline. Returns PROMPT_LINE, PROMPT_OFFERED when an answer
 * came from elsewhere, PROMPT_EOF at end of input, PROMPT_INTERRUPTED on
 * Ctrl-C or SIGTERM, PROMPT_TIMEOUT when the deadline passed first.
 */
static int read_plain(Asking *a, const char *prompt)
{
	Host *h = a->h;
	Buf *out = a->typed;
	int rc;
	if (a->sp->secret && h->tty)
		terminal_echo_off();   /* before the prompt shows: nothing typed after it is echoed */
	Buf tail = { 0 };
	prompt_tail(a, &tail);
	fputs(prompt, stderr);
	fputs(buf_str(&tail), stderr);
	buf_free(&tail);
	fflush(stderr);
	if (!a->restore)
		buf_reset(out);
	a->restore = 0;
	for (;;) {
		int c, w = wait_answer(a, 0);
		if (w != WAIT_INPUT) {
			rc = w == WAIT_OFFERED ? PROMPT_OFFERED : w == WAIT_TIMEOUT ? PROMPT_TIMEOUT : PROMPT_INTERRUPTED;
			break;
		}
		c = getc(stdin);
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
		if (out->len <= CODEC_VALUE_MAX)   /* past it, the line is read on but not kept: the check refuses it */
			buf_addc(out, (char)c);
	}
	terminal_restore();
	if (rc == 1 && out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	/* Piped answers are not echoed by a terminal: show them, so logs read well. */
	if (rc == 1 && !h->tty)
		fprintf(stderr, "%.*s%s\n", a->sp->secret ? 0 : ECHO_MAX, buf_str(out),
		        !a->sp->secret && out->len > ECHO_MAX ? "..." : "");
	if (rc < 0 || rc == PROMPT_OFFERED)
		fputc('\n', stderr);
	return rc;
}

/* The Asking an editor works for. */
static Asking *asking_of(EditLine *el)
{
	void *a = NULL;
	ed.el_wget(el, EL_CLIENTDATA, &a);
	return a;
}

/* The editor's prompt: the prompt's last line, with the seconds left. */
static wchar_t *edit_prompt(EditLine *el)
{
	Asking *a = asking_of(el);
	buf_reset(&a->shown);
	buf_adds(&a->shown, a->last);
	prompt_tail(a, &a->shown);
	utf8_to_wide(buf_str(&a->shown), a->wide, SHOWN_MAX);
	return a->wide;
}

/* The editor reads each character through this: the wait on the terminal, elsewhere and the clock. */
static int edit_getc(EditLine *el, wchar_t *wc)
{
	Asking *a = asking_of(el);
	if (a->restore) {
		*wc = TICK_KEY;   /* edit_tick puts back what was typed */
		return 1;
	}
	for (;;) {
		int c, w = terminal_pending() ? WAIT_INPUT : wait_answer(a, a->deadline >= 0);
		if (w == WAIT_TICK) {
			*wc = TICK_KEY;
			return 1;
		}
		if (w != WAIT_INPUT) {
			/* No Lua inside libedit: the line ends here, and what was typed is kept. */
			const LineInfoW *li = ed.el_wline(el);
			buf_reset(a->typed);
			wide_to_utf8(li->buffer, (size_t)(li->lastchar - li->buffer), a->typed);
			a->ended = w;
			return 0;
		}
		if ((c = terminal_read_point(STDIN_FILENO)) == -2)
			continue;   /* a signal: the wait says which */
		if (c < 0)
			return 0;
		*wc = (wchar_t)c;
		return 1;
	}
}

/* TICK_KEY: show the seconds left; put back a line that ended early. */
static unsigned char edit_tick(EditLine *el, int ch)
{
	Asking *a = asking_of(el);
	(void)ch;
	if (a->restore) {
		wchar_t w[SHOWN_MAX];
		a->restore = 0;
		utf8_to_wide(buf_str(a->typed), w, SHOWN_MAX);
		ed.el_winsertstr(el, w);
	}
	return CC_REFRESH;
}

/* Tab: complete what was typed to the one answer it starts, or list those it starts. */
static unsigned char edit_complete(EditLine *el, int ch)
{
	Asking *a = asking_of(el);
	const LineInfoW *li = ed.el_wline(el);
	Buf typed = { 0 };
	const char *match[WORDS_MAX];
	size_t common = 0;
	int n = 0;
	(void)ch;
	wide_to_utf8(li->buffer, (size_t)(li->cursor - li->buffer), &typed);
	for (int i = 0; i < a->nwords; i++)
		if (strncasecmp(a->words[i], buf_str(&typed), typed.len) == 0)
			match[n++] = a->words[i];
	if (n > 0) {
		/* The start all of them share, cut at a character's end. */
		common = strlen(match[0]);
		for (int i = 1; i < n; i++) {
			size_t k = 0;
			while (k < common && match[i][k] && strncasecmp(match[0] + k, match[i] + k, 1) == 0)
				k++;
			common = k;
		}
		while (common > 0 && (match[0][common] & 0xC0) == 0x80)
			common--;
	}
	if (n == 0 || (n > 1 && common <= typed.len)) {
		buf_free(&typed);
		if (n == 0)
			return CC_ERROR;
		Editor *e = a->editor;
		fputc('\n', e->out);
		for (int i = 0; i < n; i++)
			fprintf(e->out, "  %s", match[i]);
		fputc('\n', e->out);
		fflush(e->out);
		return CC_REDISPLAY;
	}
	wchar_t w[SHOWN_MAX];
	char cut[SHOWN_MAX];
	snprintf(cut, sizeof cut, "%.*s", (int)common, match[0]);
	utf8_to_wide(cut, w, SHOWN_MAX);
	ed.el_deletestr(el, (int)(li->cursor - li->buffer));
	ed.el_winsertstr(el, w);
	buf_free(&typed);
	return CC_REFRESH;
}

/* The editor, made at the first prompt on a terminal; NULL when libedit cannot work here. */
static Editor *editor_get(Host *h)
{
	static const wchar_t tick[] = { TICK_KEY, 0 };
	HistEventW ev;
	Editor *e = h->editor;
	int fd;
	if (e)
		return e;
	if (!edit_load() || !(e = calloc(1, sizeof *e)))
		return NULL;
	if ((fd = dup(STDERR_FILENO)) >= 0 && !(e->out = fdopen(fd, "w")))
		close(fd);
	if (e->out)
		e->el = ed.el_init("understudy", stdin, e->out, e->out);
	e->history = ed.history_winit();
	if (!e->el || !e->history) {
		h->editor = e;
		prompt_free(h);
		return NULL;
	}
	ed.history_w(e->history, &ev, H_SETSIZE, PAST_ANSWERS + 1);
	ed.el_wset(e->el, EL_EDITOR, L"emacs");
	ed.el_source(e->el, NULL);   /* the person's ~/.editrc, as the REPL reads it */
	ed.el_wset(e->el, EL_HIST, ed.history_w, e->history);
	ed.el_wset(e->el, EL_GETCFN, edit_getc);
	ed.el_wset(e->el, EL_PROMPT, edit_prompt);
	ed.el_wset(e->el, EL_ADDFN, L"understudy-complete", L"Complete the answer", edit_complete);
	ed.el_wset(e->el, EL_ADDFN, L"understudy-tick", L"Show the seconds left", edit_tick);
	ed.el_wset(e->el, EL_BIND, L"^I", L"understudy-complete", NULL);
	ed.el_wset(e->el, EL_BIND, tick, L"understudy-tick", NULL);
	h->editor = e;
	return e;
}

void prompt_free(Host *h)
{
	Editor *e = h->editor;
	if (!e)
		return;
	if (e->el)
		ed.el_end(e->el);
	if (e->history)
		ed.history_wend(e->history);
	if (e->out)
		fclose(e->out);
	free(e);
	h->editor = NULL;
}

/* One past answer for Up: its text as typed, how recent, and whether it answered these inputs. */
typedef struct Past {
	char *text;
	int same;
	int64_t last;
} Past;

typedef struct Pasts {
	Past p[PAST_ANSWERS];
	int n;
	const char *inputs;        /* the step's inputs now, "" for none */
} Pasts;

/* Which of two past answers Up should bring back first: those for these inputs, then the latest. */
static int past_cmp(const void *x, const void *y)
{
	const Past *a = x, *b = y;
	if (a->same != b->same)
		return a->same - b->same;
	return a->last < b->last ? -1 : a->last > b->last;
}

/* Keep an answer among the PAST_ANSWERS that come back first, once each. */
static int past_add(void *ud, const StoreAnswer *r)
{
	Pasts *ps = ud;
	Past new = { NULL, strcmp(r->inputs ? r->inputs : "", ps->inputs) == 0, r->last }, *low = NULL;
	json_t *v = json_loads(r->output ? r->output : "", JSON_DECODE_ANY, NULL);
	const char *text = v && json_is_string(v) ? json_string_value(v) : r->output;
	if (text && *text && !strchr(text, '\n')) {
		for (int i = 0; i < ps->n && !low; i++)
			if (strcmp(ps->p[i].text, text) == 0)
				low = &ps->p[i];
		if (low) {
			if (past_cmp(&new, low) > 0)
				low->same = new.same, low->last = new.last;
		} else if (ps->n < PAST_ANSWERS) {
			new.text = strdup(text);
			if (new.text)
				ps->p[ps->n++] = new;
		} else {
			low = &ps->p[0];
			for (int i = 1; i < ps->n; i++)
				if (past_cmp(&ps->p[i], low) < 0)
					low = &ps->p[i];
			if (past_cmp(&new, low) > 0 && (new.text = strdup(text))) {
				free(low->text);
				*low = new;
			}
		}
	}
	json_decref(v);
	return 0;
}

/* The editor's history becomes the step's past answers, the likeliest last (Up brings it first). */
static void editor_history(Editor *e, Host *h, const Spec *sp)
{
	Pasts ps = { .n = 0, .inputs = buf_str(&h->step.inputs) };
	HistEventW ev;
	ed.history_w(e->history, &ev, H_CLEAR);
	if (sp->type == T_DONE || h->store->m->answers(h->store, h->pipeline, sp->name, past_add, &ps) < 0)
		buf_reset(&h->store->err);   /* without the past, Up has less to offer; the prompt still works */
	qsort(ps.p, (size_t)ps.n, sizeof ps.p[0], past_cmp);
	for (int i = 0; i < ps.n; i++) {
		wchar_t w[SHOWN_MAX];
		utf8_to_wide(ps.p[i].text, w, SHOWN_MAX);
		ed.history_w(e->history, &ev, H_ENTER, w);
		free(ps.p[i].text);
	}
}

/*
 * Read one line like read_plain, edited with libedit: the prompt's last
 * line shows the seconds left, Up brings back the step's past answers,
 * Tab completes a->words.
 */
static int read_edited(Asking *a, Editor *e, const char *prompt)
{
	const char *last = strrchr(prompt, '\n');
	const wchar_t *line;
	int n = 0;
	if (last)
		fwrite(prompt, 1, (size_t)(last + 1 - prompt), stderr);
	fflush(stderr);
	a->last = last ? last + 1 : prompt;
	a->ended = -1;
	ed.el_wset(e->el, EL_CLIENTDATA, a);
	line = ed.el_wgets(e->el, &n);
	if (a->ended >= 0) {
		fputc('\n', stderr);
		return a->ended == WAIT_OFFERED ? PROMPT_OFFERED : a->ended == WAIT_TIMEOUT ? PROMPT_TIMEOUT
		                                                                                : PROMPT_INTERRUPTED;
	}
	buf_reset(a->typed);
	if (!line || n <= 0) {
		fputc('\n', stderr);
		return host_interrupted ? PROMPT_INTERRUPTED : PROMPT_EOF;
	}
	wide_to_utf8(line, (size_t)n, a->typed);
	while (a->typed->len && (a->typed->data[a->typed->len - 1] == '\n' || a->typed->data[a->typed->len - 1] == '\r'))
		a->typed->data[--a->typed->len] = '\0';
	return PROMPT_LINE;
}

/* Does text start a JSON array or object it does not close (a document that goes on to the next line)? */
static int json_open(const char *text)
{
	int depth = 0, in_string = 0;
	text += strspn(text, " \t");
	if (*text != '[' && *text != '{')
		return 0;
	for (; *text; text++) {
		if (in_string) {
			if (*text == '\\' && text[1])
				text++;
			else if (*text == '"')
				in_string = 0;
		} else if (*text == '"') {
			in_string = 1;
		} else if (*text == '[' || *text == '{') {
			depth++;
		} else if (*text == ']' || *text == '}') {
			if (--depth == 0)
				return 0;
		}
	}
	return depth > 0;
}

/*
 * Read an answer: one line, or the lines of a JSON document until it
 * closes; through a->editor when there is one (a terminal, not a
 * secret), else as read_plain. The answer goes to a->typed.
 */
static int read_answer(Asking *a, const char *prompt)
{
	Editor *e = a->editor;
	for (;;) {
		int rc;
		a->more = a->doc.len > 0;
		rc = e ? read_edited(a, e, a->more ? "...> " : prompt) : read_plain(a, a->more ? "...> " : prompt);
		if (a->more && (rc == PROMPT_EOF || (rc == PROMPT_LINE && a->typed->len == 0))) {
			/* End of input or an empty line ends the document as far as it went: its check says what is wrong. */
			buf_reset(a->typed);
			buf_add(a->typed, a->doc.data, a->doc.len - 1);
			buf_reset(&a->doc);
			return PROMPT_LINE;
		}
		if (rc != PROMPT_LINE)
			return rc;
		if (e && a->typed->len) {   /* Up brings back a wrong answer too, to mend it */
			wchar_t w[SHOWN_MAX];
			HistEventW ev;
			utf8_to_wide(buf_str(a->typed), w, SHOWN_MAX);
			ed.history_w(e->history, &ev, H_ENTER, w);
		}
		if (a->sp->type != T_JSON || !(a->more || json_open(buf_str(a->typed))))
			return PROMPT_LINE;
		buf_add(&a->doc, a->typed->data, a->typed->len);
		buf_addc(&a->doc, '\n');
		if (json_open(buf_str(&a->doc)))
			continue;
		buf_reset(a->typed);
		buf_add(a->typed, a->doc.data, a->doc.len - 1);
		buf_reset(&a->doc);
		return PROMPT_LINE;
	}
}

/* Write the prompt for a manual step into b, all but the end of its last line (prompt_tail). */
static void prompt_text(lua_State *L, Host *h, const Spec *sp, int occurrence, Buf *b)
{
	const char *instructions = sp->instructions;
	Buf shown = { 0 };
	buf_reset(b);
	buf_addf(b, "\n== %s: %s", sp->audit ? "audit of auto step" : "manual step", sp->name);
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
	case T_BOOLEAN:   /* the default in capitals, as people know it; an audit's y keeps the code's */
		buf_adds(b, sp->audit ? " [true/false]" : !sp->def ? " [y/n]" : lua_toboolean(L, sp->def) ? " [Y/n]" : " [y/N]");
		break;
	case T_CHOICE: buf_addf(b, " [1-%d]", sp->nchoices); break;
	case T_JSON: buf_adds(b, " [JSON]"); break;
	default: break;
	}
	if (sp->def && sp->type != T_DONE && (sp->type != T_BOOLEAN || sp->proposed || sp->audit)) {
		size_t mark = b->len;
		buf_adds(b, sp->audit ? " (the code answers " : sp->proposed ? " (the candidate proposes " : " (default ");
		if (lua_type(L, sp->def) == LUA_TSTRING)
			buf_adds(b, lua_tostring(L, sp->def));
		else if (codec_encode(L, sp->def, b, &h->step.why)) {
			b->len = mark;
			buf_adds(b, " (default ?");
		}
		buf_adds(b, sp->audit ? ": Enter or y keeps it)" : ")");
	}
	/* prompt_tail ends the line: the seconds left, hidden, "> ". */
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
	lua_pushstring(L, sp->instructions);
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

int prompt_person_reachable(const Host *h)
{
	return h->tty || wait_asked(h);
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
	Asking a = { .h = h, .sp = sp, .from_stdin = from_stdin, .typed = &h->step.line, .ended = -1 };
	const char *how = NULL;
	int depth = progress_step_enter(sp->name, 0);   /* the terminal is the person's: no running step's time */
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
	a.deadline = sp->timeout_ms ? clock_mono_ms() + sp->timeout_ms : -1;
	a.editor = h->tty && !sp->secret && isatty(STDERR_FILENO) ? editor_get(h) : NULL;
	if (a.editor) {
		/* What Tab completes, and what Up brings back. */
		static const char *const yes_no[] = { "yes", "no" }, *const done_fail[] = { "done", "fail: " };
		if (sp->type == T_CHOICE) {
			for (int i = 1; i <= sp->nchoices && a.nwords < WORDS_MAX; i++) {
				lua_rawgeti(L, sp->choices, i);
				a.words[a.nwords++] = lua_tostring(L, -1);   /* kept alive by the choices table */
				lua_pop(L, 1);
			}
		} else if (sp->type == T_BOOLEAN || sp->type == T_DONE) {
			const char *const *w = sp->type == T_BOOLEAN ? yes_no : done_fail;
			a.words[0] = w[0], a.words[1] = w[1], a.nwords = 2;
		}
		editor_history(a.editor, h, sp);
	}
	for (;;) {
		int rc = read_answer(&a, buf_str(prompt));
		if (rc == PROMPT_OFFERED) {
			if ((how = remote_poll(L, h, sp))) {
				if (h->tty)
					tcflush(STDIN_FILENO, TCIFLUSH);   /* half a line typed meanwhile is not the next answer */
				break;
			}
			a.restore = 1;   /* refused: ask on, with what was typed */
			last_line(prompt);
			continue;
		}
		if (rc == PROMPT_TIMEOUT) {
			fprintf(stderr, "  (no answer in %g s: the default is taken)\n", sp->timeout_ms / 1000.0);
			lua_pushvalue(L, sp->def);
			how = "default";
			break;
		}
		if (rc == PROMPT_INTERRUPTED || rc == PROMPT_EOF) {
			buf_free(&a.shown), buf_free(&a.doc);
			remote_wait_end(h, "interrupted", NULL, NULL);
		}
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
			if (answer_accept(L, h, sp, reason) == 0) {
				how = h->tty ? "prompt" : "stdin";
				break;
			}
			lua_pop(L, 1);
		}
		/* Lines from a file or a pipe do not get better by asking again: three wrong ones end the run. */
		if (!h->tty && ++wrong == WRONG_ANSWERS_MAX) {
			buf_free(&a.shown), buf_free(&a.doc);
			remote_wait_end(h, "interrupted", NULL, NULL);
			host_fail(L, EXIT_USAGE, "step \"%s\": %d wrong answers in a row from standard input, the last: %s;"
			          " answer it with --answer '%s=VALUE'", sp->name, wrong, buf_str(reason), sp->name);
		}
		fprintf(stderr, "  ! %s\n", buf_str(reason));
		last_line(prompt);
	}
	buf_free(&a.shown), buf_free(&a.doc);
	progress_step_leave(depth);
	return how;
}
