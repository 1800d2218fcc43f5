/* main.c: the command line; main makes the Lua state and runs pmain protected. */
#include "host.h"
#include "views.h"
#include "run.h"
#include "repl.h"
#include "copy.h"
#include "remote.h"
#include "serve.h"
#include "near.h"
#include "progress.h"

#include <lauxlib.h>
#include <lualib.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* Commands, as bits, so each option can say where it applies. */
enum {
	C_RUN = 1, C_CHECK = 2, C_RUNS = 4, C_SHOW = 8, C_HISTORY = 16, C_REPORT = 32,
	C_SUGGEST = 64, C_EXPORT = 128, C_HELP = 256, C_RESUME = 512, C_REPL = 1024, C_NAMES = 2048,
	C_BACKUP = 4096, C_COPY = 8192, C_WAITING = 16384, C_ANSWER = 32768, C_SERVE = 65536, C_DOC = 131072,
	C_LIVE = C_RUN | C_RESUME | C_REPL,
	C_VIEWS = C_RUNS | C_SHOW | C_HISTORY | C_REPORT | C_SUGGEST | C_EXPORT | C_NAMES | C_BACKUP | C_WAITING,
};

typedef struct Command {
	const char *name;
	int bit;
	int min_words, max_words;   /* -1: no limit */
	const char *usage;
	const char *summary;        /* one line for --help */
	const char *help;
} Command;

static const Command commands[] = {
	{ "run", C_RUN, 1, -1, "run SCRIPT [ARG...]",
	  "run a pipeline (understudy SCRIPT is the same)",
	  "Run a pipeline. Manual steps ask for an answer (--answer, --answers,\n"
	  "the terminal, or standard input lines when there is no terminal);\n"
	  "every step is recorded. `understudy SCRIPT` is the same. Options may\n"
	  "stand anywhere; after -- every word goes to the script as arg[N].\n"
	  "At a prompt, a line `note: TEXT` adds a note to the answer that follows;\n"
	  "a done step takes `fail` (or `fail: why`), which fails it and the run.\n" },
	{ "resume", C_RESUME, 1, 1, "resume RUN [--from STEP]",
	  "rerun RUN; finished steps are replayed, not redone",
	  "Run a failed or interrupted run's script again, with the same arguments,\n"
	  "as a new run. Each step the run finished is replayed: its recorded value\n"
	  "is returned and nothing is asked or executed again. From the first step\n"
	  "that did not finish, the run is live. A run whose process died (shown as\n"
	  "abandoned by runs) can be resumed too; one that finished ok cannot.\n"
	  "With --from STEP, only the steps before STEP's first occurrence are\n"
	  "replayed; STEP and all after it are asked or run anew. That is how an\n"
	  "answer that made the run fail is changed:\n"
	  "  understudy resume 5 --from sign-off --answer sign-off=y\n" },
	{ "repl", C_REPL, 0, 1, "repl [SCRIPT]",
	  "interactive Lua with manual() and auto()",
	  "The Lua prompt, with manual() and auto(): an expression prints its value,\n"
	  "an unfinished statement continues on the next line, Tab completes names\n"
	  "and fields, and a persistent history keeps what was typed. The session is\n"
	  "a run of pipeline repl (or --name), so its steps are recorded. SCRIPT runs\n"
	  "first and its globals stay. `understudy` alone on a terminal is the same.\n"
	  "Dot-commands: .help .load FILE .runs .history STEP .report .quit\n"
	  "Without a terminal it reads chunks from standard input, without prompts.\n" },
	{ "check", C_CHECK, 1, -1, "check SCRIPT...",
	  "compile only; syntax errors as file:line",
	  "Compile the scripts without running them; a syntax error is printed as\n"
	  "file:line: message and the exit status is 2. The option tables written out\n"
	  "in manual() and auto() calls are read too: an unknown option or type is\n"
	  "said the same way, before anyone runs the script.\n" },
	{ "runs", C_RUNS, 0, 1, "runs [PIPELINE]",
	  "list runs, newest first",
	  "List the recorded runs, newest first, of one pipeline or of all.\n" },
	{ "show", C_SHOW, 1, 1, "show RUN",
	  "one run, step by step",
	  "Show one run step by step: kind, how it was answered, status, value, time.\n" },
	{ "history", C_HISTORY, 1, 2, "history PIPELINE [STEP]",
	  "every execution of a pipeline's steps, or one's",
	  "Every recorded execution of a pipeline's steps, or of one step.\n" },
	{ "report", C_REPORT, 0, 1, "report [PIPELINE]",
	  "consistency, human time, what to automate next",
	  "Per step: how many executions, how consistent the answers, how much human\n"
	  "time, and a verdict: drift (audits of an auto step disagreed with the\n"
	  "code), people disagree (people answered the same inputs differently),\n"
	  "automated (code, maybe with people answering the rest),\n"
	  "trusted: candidate answers, ready: candidate, ready: constant (every\n"
	  "answer the same), ready: rule (a threshold on one number, one answer with\n"
	  "named exceptions, or one key deciding alone), ready: lookup (the same\n"
	  "answer for the same inputs), varies (same inputs, different answers: keep\n"
	  "it manual), secret, or too few runs. A ready verdict says how many past\n"
	  "answers its code would have given, and how many right, each left out in\n"
	  "turn. Drift and people who disagree come first, then ready steps by the\n"
	  "human time their code would save, then the rest by human time; the last\n"
	  "line says what to automate next. A step that is now auto is checked\n"
	  "against what people answered for the same inputs.\n" },
	{ "suggest", C_SUGGEST, 2, 2, "suggest PIPELINE STEP",
	  "auto() code for a ready step, from the record",
	  "Print Lua code that replaces a ready manual step: an auto() returning the\n"
	  "constant, a rule (an if on one input, or a table on one key), or a table\n"
	  "of known inputs and answers; outside what was seen it still asks a person.\n"
	  "A step that is not ready exits 1 saying why, with the evidence.\n" },
	{ "doc", C_DOC, 1, 1, "doc SCRIPT|PIPELINE",
	  "the pipeline as a runbook (Markdown; --html)",
	  "Write the pipeline as a document a person could follow without\n"
	  "understudy: the title and words of the script's leading comment; each\n"
	  "step in the order it runs (from the source for steps whose name is\n"
	  "written in it, and as the latest complete run ran them, loops once with\n"
	  "how many times), with its instructions, kind (manual, auto, shadowed by\n"
	  "a candidate, trusted), answer, default, timeout; and from the history:\n"
	  "how often it ran, who answered, a person's median and 90th percentile\n"
	  "time, its verdict. A pipeline never run is documented from its source\n"
	  "alone, and says so. The text is the same every time for the same record\n"
	  "(no dates unless --dates), so it can be kept in a repository.\n" },
	{ "export", C_EXPORT, 0, 1, "export [PIPELINE]",
	  "the record as JSON lines (--csv for CSV)",
	  "Every recorded step execution, oldest first, as JSON lines (or CSV with\n"
	  "--csv), for analysis elsewhere.\n" },
	{ "backup", C_BACKUP, 1, 1, "backup DEST",
	  "a consistent, checked copy of the history",
	  "Copy the history to DEST while runs may go on writing to it: a consistent\n"
	  "copy (SQLite's backup API), checked for damage before it replaces DEST.\n"
	  "The key for secret answers is copied to DEST-key beside it. A damaged\n"
	  "history gives no backup and exit status 3.\n" },
	{ "copy", C_COPY, 0, 0, "copy --from DB --to DB",
	  "copy a whole history between backends",
	  "Copy a whole history (runs, steps, log lines, the key for secret answers)\n"
	  "from one database to another: an SQLite file or a PostgreSQL URI on either\n"
	  "side. Run and step numbers and the links between them are kept, so the\n"
	  "copy shows and exports the same. The target must hold no runs yet; with\n"
	  "--append the runs are added after its own, numbered on from its last.\n"
	  "Progress is shown every 100,000 steps. A copy that fails leaves what it\n"
	  "copied so far: copy again into an empty database.\n" },
	{ "waiting", C_WAITING, 0, 1, "waiting [PIPELINE]",
	  "manual steps waiting for an answer, in any run",
	  "The manual steps waiting for a person now, in every run of this history\n"
	  "(other machines' too, when they share it): run, pipeline, step, type and\n"
	  "choices, default, since when, and who started the run. A step waits\n"
	  "visibly when its run asks at a terminal, or was started with --wait.\n"
	  "A runner that died is not listed. Answer one with `understudy answer`.\n" },
	{ "answer", C_ANSWER, 3, 3, "answer RUN STEP VALUE",
	  "answer a waiting step from another shell or machine",
	  "Answer a step that waits for a person in run RUN, from anywhere that\n"
	  "reaches the history. VALUE is typed as at the prompt (y/n, a choice or\n"
	  "its number, a number, JSON; `fail` is text like any other). The runner\n"
	  "checks it (its validate function too) and goes on within a second; it\n"
	  "records the answer as `remote`, answered by --operator (default $USER).\n"
	  "Exit status: 0 the runner took the answer; 1 it refused it (the reason\n"
	  "is printed), someone answered first (\"already answered by NAME at TIME\"),\n"
	  "or the step is not waiting (any more); 2 usage; 3 history unusable.\n"
	  "A secret step is answered only at the runner's terminal.\n" },
	{ "serve", C_SERVE, 0, 0, "serve",
	  "web page: answer forms, runs, report with charts",
	  "A web page over the history, for a phone too: the steps waiting for a\n"
	  "person, each with a form to answer it (beside it, what people answered\n"
	  "before for the same inputs, and the candidate's proposal); the runs; one\n"
	  "run; the report with charts. Beside each page a JSON API: /api/waiting,\n"
	  "/api/runs, /api/runs/ID, /api/report, and POST /api/answer.\n"
	  "It listens on 127.0.0.1:8765 (--listen). Every request needs a token:\n"
	  "--tokens FILE holds `NAME TOKEN` lines (the name is recorded as who\n"
	  "answered); without it one token is made and printed as a link. The link\n"
	  "sets a cookie; the API takes `Authorization: Bearer TOKEN`. Answers are\n"
	  "recorded as `web`. Only requests for this server's Host (or --url's) are\n"
	  "answered (421), and a POST must come from its own page (403).\n"
	  "Ctrl-C stops it.\n" },
	{ "names", C_NAMES, 0, 1, "names [PIPELINE]",
	  "pipeline names, or a pipeline's step names",
	  "The recorded pipelines' names, or one pipeline's step names, one a line\n"
	  "(for shell completion and scripts).\n" },
	{ "help", C_HELP, 0, 1, "help [COMMAND]",
	  "this help, or a command's",
	  "Show the general help, or a command's.\n" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL },
};

typedef struct OptDef {
	const char *name;
	int takes_value;
	int commands;
	const char *help;
} OptDef;

static const OptDef optdefs[] = {
	{ "db", 1, C_LIVE | C_VIEWS | C_ANSWER | C_SERVE | C_DOC,
	  "--db PATH|URI          the history: an SQLite file, or a PostgreSQL URI\n"
	  "                         (postgresql://USER@HOST/DB; postgresql: alone takes\n"
	  "                         libpq's PG* variables); else $UNDERSTUDY_DB, else\n"
	  "                         $XDG_STATE_HOME/understudy/history.db" },
	{ "from", 1, C_COPY | C_RESUME, "--from DB              copy: the history to copy (a path or a URI)\n"
	  "  --from STEP            resume: replay up to STEP, then ask and run anew" },
	{ "to", 1, C_COPY, "--to DB                copy: where to (made when it is a missing file)" },
	{ "append", 0, C_COPY, "--append               copy: add to a history that holds runs already" },
	{ "answer", 1, C_LIVE, "--answer STEP=VALUE    answer a manual step without asking (repeatable)" },
	{ "answers", 1, C_LIVE, "--answers FILE         answers from a JSON object {\"step\": answer}" },
	{ "operator", 1, C_LIVE | C_ANSWER, "--operator NAME        who does the manual steps, or answers (default $USER)" },
	{ "wait", 0, C_RUN | C_RESUME, "--wait                 without a terminal, a manual step waits for an answer\n"
	  "                         from elsewhere (understudy answer, the page) instead\n"
	  "                         of reading standard input; UNDERSTUDY_WAIT=1 too" },
	{ "note", 1, C_ANSWER | C_LIVE, "--note TEXT            answer: a note recorded with the answer; run, resume,\n"
	  "                         repl: --note STEP=TEXT, with that step's answer" },
	{ "listen", 1, C_SERVE, "--listen ADDR:PORT     serve: where (default 127.0.0.1:8765; port 0: any free)" },
	{ "tokens", 1, C_SERVE, "--tokens FILE          serve: NAME TOKEN lines, one per person" },
	{ "url", 1, C_SERVE, "--url BASE             serve: where people reach the page (behind a proxy);\n"
	  "                         its host is accepted, and notify messages link to it" },
	{ "dry-run", 0, C_RUN, "--dry-run              run: no auto code runs, nobody is asked, nothing\n"
	  "                         outside is touched; each step returns what the record\n"
	  "                         holds for the same inputs, else its default" },
	{ "quiet", 0, C_RUN | C_RESUME, "--quiet                no status lines for auto steps that went well" },
	{ "verbose", 0, C_RUN | C_RESUME, "--verbose              a status line for every step, even on a terminal" },
	{ "name", 1, C_RUN | C_REPL | C_DOC, "--name NAME            the pipeline's name (default: script name without .lua)" },
	{ "no-trust", 0, C_LIVE, "--no-trust             ask a person even where a candidate is trusted" },
	{ "force", 0, C_RESUME, "--force                resume a run that was resumed already (its remaining\n"
	  "                         steps run again)" },
	{ "limit", 1, C_RUNS, "--limit N              runs: the newest N (default 20 on a terminal; 0: all)" },
	{ "all", 0, C_RUNS, "--all                  runs: REPL sessions that recorded no step too" },
	{ "json", 0, C_RUNS | C_SHOW | C_HISTORY | C_REPORT | C_WAITING, "--json                 JSON output" },
	{ "seed", 1, C_LIVE, "--seed N               which auto steps are audited is drawn from N: the same\n"
	  "                         every time (default: different each run)" },
	{ "out", 1, C_DOC, "--out FILE             doc: write to FILE" },
	{ "html", 0, C_DOC, "--html                 doc: a standalone HTML page (inline style, nothing\n"
	  "                         fetched) in place of Markdown" },
	{ "dates", 0, C_DOC, "--dates                doc: when each step was last answered" },
	{ "min-runs", 1, C_REPORT | C_SUGGEST | C_DOC, "--min-runs N           manual answers a verdict needs (default 5)" },
	{ "since", 1, C_REPORT | C_SUGGEST, "--since WHEN           only what was recorded since WHEN: a duration back\n"
	  "                         from now (90m, 12h, 30d, 8w) or a local date or time\n"
	  "                         (2026-11-01, 2026-11-01T09:30)" },
	{ "csv", 0, C_EXPORT, "--csv                  CSV instead of JSON lines" },
	{ "help", 0, ~0, "-h, --help             help" },
	{ "version", 0, ~0, "--version              print the version" },
	{ NULL, 0, 0, NULL },
};

static const char exit_help[] =
	"Exit status: 0 ok; 1 the pipeline failed; 2 usage error, the script does not\n"
	"compile or misuses a step (an unknown option, a bad type), or three wrong\n"
	"answers in a row from standard input; 3 the history\n"
	"database is unusable or damaged; 129 hung up (SIGHUP); 130 interrupted\n"
	"(Ctrl-C, or end of input at a prompt); 143 terminated (SIGTERM). An\n"
	"interrupted run can be resumed.\n";

/*
 * When --since's window starts, in ms since the epoch: a duration back
 * from now (N and one of s m h d w), or a local date or date and time.
 * -1 when it is neither.
 */
static int64_t since_parse(const char *text)
{
	static const char *const formats[] = { "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", NULL };
	char *end;
	long long n = strtoll(text, &end, 10);
	if (end != text && n >= 0 && end[0] && !end[1] && strchr("smhdw", end[0]) && isdigit((unsigned char)text[0])) {
		long long unit = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 604800;
		if (n > 100LL * 365 * 86400 / unit)
			return -1;
		return clock_wall_ms() - n * unit * 1000;
	}
	for (int i = 0; formats[i]; i++) {
		struct tm tm = { 0 };
		const char *rest = strptime(text, formats[i], &tm);
		if (rest && !*rest) {
			tm.tm_isdst = -1;   /* local time, with the zone's summer time as it was that day */
			time_t t = mktime(&tm);
			return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
		}
	}
	return -1;
}

static void print_usage(FILE *f)
{
	fputs("usage: understudy COMMAND [ARG...] [OPTION...]\n\n"
	      "Run Lua pipelines whose steps are done by people (manual) or by code\n"
	      "(auto), and keep every execution in a history.\n\nCommands:\n", f);
	for (const Command *c = commands; c->name; c++)
		fprintf(f, "  %-25s %s\n", c->usage, c->summary);
	fputs("\nOptions (anywhere on the line; after -- every word goes to the script):\n", f);
	for (const OptDef *d = optdefs; d->name; d++)
		fprintf(f, "  %s\n", d->help);
	fputs("\n", f);
	fputs(exit_help, f);
	fputs("`understudy help COMMAND` tells more about a command.\n", f);
}

static void print_command_help(const Command *c)
{
	printf("usage: understudy %s [OPTION...]\n\n%s", c->usage, c->help);
	int first = 1;
	for (const OptDef *d = optdefs; d->name; d++) {
		if (!(d->commands & c->bit) || d->commands == ~0)
			continue;
		if (first)
			fputs("\nOptions:\n", stdout);
		first = 0;
		printf("  %s\n", d->help);
	}
	if (c->bit & C_LIVE)
		printf("\n%s", exit_help);
}

static const Command *command_find(const char *name)
{
	for (const Command *c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* The command a usage error is about, once known: its own help is the one to read. */
static const char *usage_command;

/* A usage error: one line saying what, a pointer to help, exit 2. */
static int usage_error(const char *fmt, const char *a, const char *b)
{
	fputs("understudy: ", stderr);
	fprintf(stderr, fmt, a, b);
	if (usage_command)
		fprintf(stderr, "\nTry 'understudy help %s'.\n", usage_command);
	else
		fputs("\nTry 'understudy --help'.\n", stderr);
	return EXIT_USAGE;
}

/*
 * The name meant by a mistyped word, from a table of structs whose name
 * field is at *first (stride bytes apart, ending with a NULL name): NULL,
 * or it with " (did you mean PREFIXname?)" in hint.
 */
static const char *mistyped(const char *word, const char *const *first, size_t stride, const char *prefix,
                            char *hint, size_t n)
{
	const char *names[64], *near;
	long k = 0;
	for (const char *p = (const char *)first; *(const char *const *)p && k < 64; p += stride)
		names[k++] = *(const char *const *)p;
	if ((near = near_word(word, names, k)))
		snprintf(hint, n, " (did you mean %s%s?)", prefix, near);
	return near;
}

/*
 * Parse argv GNU style into o: options anywhere, -- ends them. Returns -1
 * when the command line is fine, else the exit code to leave with.
 */
static int options_parse(int argc, char **argv, Options *o, const Command **cmd,
                         const char **words, const char **answers)
{
	int dashdash = 0, help = 0, version = 0;
	int nwords = 0;
	const char *seen[16];
	int nseen = 0;

	memset(o, 0, sizeof *o);
	o->limit = -1;
	o->progname = argv[0];
	o->answers = answers;
	o->notes = answers + argc;   /* the same array: --answer fills it from the start, --note from the middle */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (dashdash || a[0] != '-' || a[1] == '\0') {
			words[nwords++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0) {
			help = 1;
			continue;
		}
		if (a[1] != '-')
			return usage_error("unknown option %s%s", a, "");
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const OptDef *d;
		for (d = optdefs; d->name; d++)
			if (strlen(d->name) == len && strncmp(d->name, name, len) == 0)
				break;
		if (!d->name) {
			char hint[96];
			const char *near = mistyped(name, &optdefs[0].name, sizeof optdefs[0], "--", hint, sizeof hint);
			return usage_error("unknown option %s%s", a, near ? hint
			                   : nwords ? " (to pass it to the script, put it after --)" : "");
		}
		const char *value = NULL;
		if (d->takes_value) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return usage_error("option --%s needs a value%s", d->name, "");
		} else if (eq) {
			return usage_error("option --%s takes no value%s", d->name, "");
		}
		if (nseen < 16)
			seen[nseen++] = d->name;
		if (strcmp(d->name, "db") == 0) o->db = value;
		else if (strcmp(d->name, "answer") == 0) answers[o->nanswers++] = value;
		else if (strcmp(d->name, "answers") == 0) o->answers_file = value;
		else if (strcmp(d->name, "operator") == 0) o->operator = value;
		else if (strcmp(d->name, "name") == 0) o->name = value;
		else if (strcmp(d->name, "json") == 0) o->json = 1;
		else if (strcmp(d->name, "csv") == 0) o->csv = 1;
		else if (strcmp(d->name, "no-trust") == 0) o->no_trust = 1;
		else if (strcmp(d->name, "force") == 0) o->force = 1;
		else if (strcmp(d->name, "from") == 0) o->from = value;
		else if (strcmp(d->name, "to") == 0) o->to = value;
		else if (strcmp(d->name, "append") == 0) o->append = 1;
		else if (strcmp(d->name, "wait") == 0) o->wait = 1;
		else if (strcmp(d->name, "note") == 0) o->note = o->notes[o->nnotes++] = value;
		else if (strcmp(d->name, "listen") == 0) o->listen = value;
		else if (strcmp(d->name, "tokens") == 0) o->tokens = value;
		else if (strcmp(d->name, "url") == 0) o->url = value;
		else if (strcmp(d->name, "all") == 0) o->all = 1;
		else if (strcmp(d->name, "quiet") == 0) o->quiet = 1;
		else if (strcmp(d->name, "dry-run") == 0) o->dry_run = 1;
		else if (strcmp(d->name, "out") == 0) o->out = value;
		else if (strcmp(d->name, "html") == 0) o->html = 1;
		else if (strcmp(d->name, "dates") == 0) o->dates = 1;
		else if (strcmp(d->name, "verbose") == 0) o->verbose = 1;
		else if (strcmp(d->name, "limit") == 0) {
			char *end;
			long n = strtol(value, &end, 10);
			if (*end || end == value || n < 0 || n > 1000000000)
				return usage_error("--limit needs a whole number from 0, not '%s'%s", value, "");
			o->limit = (int)n;
		}
		else if (strcmp(d->name, "min-runs") == 0) {
			char *end;
			long n = strtol(value, &end, 10);
			if (*end || end == value || n < 1 || n > 1000000)
				return usage_error("--min-runs needs a whole number from 1, not '%s'%s", value, "");
			o->min_runs = (int)n;
		}
		else if (strcmp(d->name, "seed") == 0) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(value, &end, 10);
			if (*end || end == value || value[0] == '-' || errno)
				return usage_error("--seed needs a whole number from 0, not '%s'%s", value, "");
			o->seed = n;
			o->seeded = 1;
		}
		else if (strcmp(d->name, "since") == 0) {
			int64_t ms = since_parse(value);
			if (ms < 0)
				return usage_error("--since needs a duration (90m, 12h, 30d, 8w) or a date (2026-11-01), not '%s'%s",
				                   value, "");
			clock_iso(ms, o->since);
		}
		else if (strcmp(d->name, "help") == 0) help = 1;
		else if (strcmp(d->name, "version") == 0) version = 1;
	}
	if (version) {
		printf("understudy %s (%s, SQLite; libcurl and libpq loaded when first used)\n", UNDERSTUDY_VERSION, LUA_RELEASE);
		return EXIT_OK;
	}
	if (nwords == 0 && !help && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		words[nwords++] = "repl";   /* bare understudy on a terminal */
	} else if (nwords == 0) {
		print_usage(help ? stdout : stderr);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	*cmd = command_find(words[0]);
	if (*cmd) {
		words++, nwords--;
	} else {
		struct stat st;
		if (stat(words[0], &st) != 0) {
			char hint[96];
			const char *near = mistyped(words[0], &commands[0].name, sizeof commands[0], "", hint, sizeof hint);
			return usage_error("unknown command '%s'%s", words[0],
			                   near ? hint : strchr(words[0], '.') ? " (no such script either)" : "");
		}
		*cmd = command_find("run");
	}
	if (help || (*cmd)->bit == C_HELP) {
		const Command *about = *cmd;
		if ((*cmd)->bit == C_HELP && nwords) {
			about = command_find(words[0]);
			if (!about)
				return usage_error("no command '%s'%s", words[0], "");
		}
		if (about->bit == C_HELP && !nwords) {
			print_usage(stdout);
			return EXIT_OK;
		}
		print_command_help(about);
		return EXIT_OK;
	}
	usage_command = (*cmd)->name;
	for (int i = 0; i < nseen; i++)
		for (const OptDef *d = optdefs; d->name; d++)
			if (strcmp(d->name, seen[i]) == 0 && !(d->commands & (*cmd)->bit))
				return usage_error("option --%s does not apply to '%s'", d->name, (*cmd)->name);
	if (nwords < (*cmd)->min_words || ((*cmd)->max_words >= 0 && nwords > (*cmd)->max_words))
		return usage_error("usage: understudy %s%s", (*cmd)->usage, "");
	o->command = (*cmd)->name;
	o->words = words;
	o->nwords = nwords;
	return -1;
}

/* The real main, under protection: every error is reported. */
static int pmain(lua_State *L)
{
	const Options *o = lua_touserdata(L, 1);
	int code;
	luaL_checkversion(L);
	if (strcmp(o->command, "run") == 0 || strcmp(o->command, "resume") == 0)
		progress_start(o->verbose);   /* before io opens: io.stdout is then the stream that knows */
	lua_gc(L, LUA_GCSTOP);   /* as lua.c: no collection while the libraries open, */
	luaL_openlibs(L);
	lua_gc(L, LUA_GCRESTART);
	lua_gc(L, LUA_GCGEN, 0, 0);   /* then the generational mode lua.c runs in */
	host_preload_embedded(L);
	host_new(L, o);
	if (strcmp(o->command, "run") == 0)
		code = run_command(L, o);
	else if (strcmp(o->command, "resume") == 0)
		code = resume_command(L, o);
	else if (strcmp(o->command, "repl") == 0)
		code = repl_command(L, o);
	else if (strcmp(o->command, "check") == 0)
		code = check_command(L, o);
	else if (strcmp(o->command, "copy") == 0)
		code = copy_command(L, o);
	else if (strcmp(o->command, "answer") == 0)
		code = remote_answer_command(L, o);
	else if (strcmp(o->command, "serve") == 0)
		code = serve_command(L, o);
	else if (strcmp(o->command, "doc") == 0)
		code = doc_command(L, o);
	else
		code = view_command(L, o);
	lua_pushinteger(L, code);
	return 1;
}

int main(int argc, char **argv)
{
	Options o;
	const Command *cmd = NULL;
	const char **words = calloc((size_t)argc + 1, sizeof *words);
	const char **answers = calloc(2 * (size_t)argc + 1, sizeof *answers);
	lua_State *L;
	int code;
	if (!words || !answers) {
		fputs("understudy: out of memory\n", stderr);
		return EXIT_FAILED;
	}
	setvbuf(stderr, NULL, _IOLBF, BUFSIZ);   /* a status line is one write, not one per piece */
	code = options_parse(argc, argv, &o, &cmd, words, answers);
	if (code >= 0)
		goto done;
	L = luaL_newstate();
	if (!L) {
		fputs("understudy: cannot create the Lua state: out of memory\n", stderr);
		code = EXIT_FAILED;
		goto done;
	}
	lua_pushcfunction(L, pmain);
	lua_pushlightuserdata(L, &o);
	if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
		code = (int)lua_tointeger(L, -1);
	} else {
		Host *h = host_get(L);
		code = host_interrupted ? host_interrupt_code() : h && h->history_lost ? EXIT_HISTORY : host_error_code(L, -1);
		fprintf(stderr, "understudy: %s\n", host_hide_secrets(L, host_error_text(L, -1)));
	}
	host_signals_release();   /* a signal from here on must not reach the closing state */
	lua_close(L);
done:
	free(words);
	free(answers);
	fflush(stdout);
	return code;
}
