/* prompt.h: asks people: the prompt's text, reading an answer line, until a valid answer. */
#ifndef UNDERSTUDY_PROMPT_H
#define UNDERSTUDY_PROMPT_H

#include "step.h"

/* What reading an answer line gave. */
enum { PROMPT_REMOTE = 2, PROMPT_LINE = 1, PROMPT_EOF = 0, PROMPT_INTERRUPTED = -1, PROMPT_TIMEOUT = -2 };

/*
 * Ask until a valid answer comes, and push it (a notify URL hears the
 * step waiting first). Returns how it was answered: "prompt", "stdin",
 * "web" or "remote" (who in h->step.by, a note in h->step.note), or
 * "default" when the timeout took the default. On a terminal, or with
 * --wait, the step is visible as waiting until remote_wait_end.
 */
const char *prompt_answer(lua_State *L, Host *h, const Spec *sp, int occurrence);

/* Can a person be asked now: at a terminal, or from elsewhere (--wait)? Not from piped lines. */
int prompt_person_reachable(const Host *h);
/* Let the line editor go (the Host's __gc). */
void prompt_free(Host *h);

#endif
