/* edit.h: libedit, for answers at a terminal (prompt.c) and the REPL (repl.c), loaded when first needed. */
#ifndef UNDERSTUDY_EDIT_H
#define UNDERSTUDY_EDIT_H

#include <histedit.h>
#include <editline/readline.h>

/* The native wide API (prompt.c), then the readline one (repl.c): functions, and readline's variables. */
#define EDIT_NAMES(X) \
	X(el_deletestr) X(el_end) X(el_init) X(el_source) X(el_wget) X(el_wgets) X(el_winsertstr) X(el_wline) \
	X(el_wset) X(history_w) X(history_wend) X(history_winit) \
	X(readline) X(rl_completion_matches) X(rl_initialize) X(stifle_history) X(read_history) X(add_history) \
	X(write_history) X(rl_attempted_completion_over) X(rl_completion_append_character) X(rl_readline_name) \
	X(rl_catch_signals) X(rl_getc_function) X(rl_attempted_completion_function) X(rl_basic_word_break_characters)

/* Each name's address in libedit, once edit_load said 1: ed.el_init(...), *ed.rl_readline_name = ... */
extern struct Edit {
	void *handle;
#define X(f) __typeof__(f) *f;
	EDIT_NAMES(X)
#undef X
} ed;

/*
 * Load libedit once: 1, or 0 when it cannot be had (said once on stderr;
 * lines are then read without editing, as from a pipe).
 */
int edit_load(void);

#endif
