/*
 * progress.h: on a terminal, a loop of the same auto step is one status
 * line updated in place (count, rate, elapsed) instead of thousands, and
 * an auto step that runs for more than a second shows its time as it
 * goes. Anything else written to the terminal first ends such a line:
 * stdout and stderr go through streams that know (progress_start swaps
 * them in).
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
/*
 * A step begins: an auto step (show) that runs for more than a second
 * shows "[running] auto NAME (N s)" until it ends; a person's step
 * (show 0) keeps the terminal to itself. Returns the depth to give back
 * to progress_step_leave when it ends.
 */
int progress_step_enter(const char *name, int show);
void progress_step_leave(int depth);

#endif
