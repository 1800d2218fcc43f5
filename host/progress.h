/*
 * progress.h: on a terminal, a loop of the same auto step is one status
 * line updated in place (count, rate, elapsed) instead of thousands.
 * Anything else written to the terminal first ends that line: stdout and
 * stderr go through streams that know (progress_start swaps them in).
 */
#ifndef UNDERSTUDY_PROGRESS_H
#define UNDERSTUDY_PROGRESS_H

#include <stdint.h>

/* Before the Lua libraries open, for run and resume: when stderr is a terminal, and not verbose. */
void progress_start(int verbose);
/*
 * A status line for step name (kind, ok or not) with text: 1 when it was
 * shown as the step's repeat in place, 0 when the caller prints it.
 */
int progress_line(const char *name, int repeatable, const char *text);
/* End the line in place, if any: the terminal's next output starts on a line of its own. */
void progress_end(void);

#endif
