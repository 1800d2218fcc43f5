/* prompt.h: asks people: the prompt's text, reading an answer line, until a valid answer. */
#ifndef UNDERSTUDY_PROMPT_H
#define UNDERSTUDY_PROMPT_H

#include "step.h"

/* Read one line of answer (timeout_ms 0: wait for ever). */
enum { PROMPT_LINE = 1, PROMPT_EOF = 0, PROMPT_INTERRUPTED = -1, PROMPT_TIMEOUT = -2 };
int prompt_read_line(Host *h, const char *prompt, int secret, int timeout_ms, Buf *out);

/*
 * Ask until a valid answer is typed, and push it (a notify URL hears the
 * step waiting first). Returns how it was answered: "prompt", "stdin", or
 * "default" when the timeout took the default.
 */
const char *prompt_answer(lua_State *L, Host *h, const Spec *sp, int occurrence);

#endif
